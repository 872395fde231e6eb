package storetest

import (
	"errors"
	"testing"

	"github.com/seedcast/seedcast/store"
	"time"
)

// Replace swaps a published episode's torrent in one step: the new one is in
// the feed, the old one is superseded with its file and keeps seeding, and
// every other column of the episode is carried over.
func testReplaceAndKeepMedia(t *testing.T, open Opener) {
	ctx := t.Context()
	s, _ := open(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.EnsureFeed(ctx, "f", "http://127.0.0.1:9/feed.xml"); err != nil {
		t.Fatal(err)
	}
	eps := []store.Episode{{Key: "guid:a", ItemKey: "guid:a", GUID: "a", Title: "A", Extra: "<itunes:episode>3</itunes:episode>",
		EnclosureURL: "http://127.0.0.1:9/a.mp3", EnclosureType: "audio/mpeg", EnclosureLength: 10}}
	if err := s.SaveChannel(ctx, store.Feed{Slug: "f", Title: "F"}, eps, at); err != nil {
		t.Fatal(err)
	}
	v1 := store.Publication{InfoHash: "1111111111111111111111111111111111111111", TorrentPath: "torrents/1.torrent",
		MediaPath: "media/f/a1.mp3", MediaSize: 10, SHA256: "aa", ETag: `"e1"`, At: at}
	if err := s.Publish(ctx, "f", "guid:a", v1); err != nil {
		t.Fatal(err)
	}

	before, _ := s.FeedVersion(ctx, "f")
	if err := s.KeepMedia(ctx, "f", "guid:a", `"e2"`, "", 10); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Episode(ctx, "f", "guid:a"); e.MediaETag != `"e2"` || e.InfoHash != v1.InfoHash {
		t.Fatalf("after KeepMedia: %+v", e)
	}
	if v, _ := s.FeedVersion(ctx, "f"); v != before {
		t.Fatalf("KeepMedia with the same declared length changed the feed version %d -> %d", before, v)
	}
	if err := s.KeepMedia(ctx, "f", "guid:a", `"e3"`, "", 11); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.FeedVersion(ctx, "f"); v == before {
		t.Fatal("KeepMedia with a new declared length must change the feed version")
	}
	if err := s.KeepMedia(ctx, "f", "guid:zzz", "", "", 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("KeepMedia of an unknown episode: %v", err)
	}

	before, _ = s.FeedVersion(ctx, "f")
	v2 := store.Publication{InfoHash: "2222222222222222222222222222222222222222", TorrentPath: "torrents/2.torrent",
		MediaPath: "media/f/a2.mp3", MediaSize: 12, SHA256: "bb", ETag: `"e4"`, At: at.Add(time.Hour)}
	if err := s.Replace(ctx, "f", "guid:a", "http://127.0.0.1:9/a2.mp3", "audio/mpeg", 12, v2); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.FeedVersion(ctx, "f"); v == before {
		t.Fatal("Replace must change the feed version")
	}
	cur, err := s.Episode(ctx, "f", "guid:a")
	if err != nil || cur.State != store.StatePublished || cur.InfoHash != v2.InfoHash || cur.MediaPath != v2.MediaPath ||
		cur.EnclosureURL != "http://127.0.0.1:9/a2.mp3" || cur.EnclosureLength != 12 || cur.Title != "A" ||
		cur.Extra != eps[0].Extra || cur.ItemKey != "guid:a" {
		t.Fatalf("current version: %+v, %v", cur, err)
	}
	old, err := s.Episode(ctx, "f", "guid:a@"+v1.InfoHash)
	if err != nil || old.State != store.StateSuperseded || old.MediaPath != v1.MediaPath || old.InfoHash != v1.InfoHash {
		t.Fatalf("old version: %+v, %v", old, err)
	}
	if ts, _ := s.Torrents(ctx); len(ts) != 2 {
		t.Fatalf("torrents %+v, want both versions seeding", ts)
	}
	if pub, _ := s.Published(ctx, "f"); len(pub) != 1 || pub[0].InfoHash != v2.InfoHash {
		t.Fatalf("published %+v, want only the new version", pub)
	}
	if err := s.Replace(ctx, "f", "guid:zzz", "", "", 0, v2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Replace of an unknown episode: %v", err)
	}
}
