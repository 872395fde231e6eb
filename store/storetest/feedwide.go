package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// testFeedWideReads: the feed-wide reads return, for every torrent the feed has had (a
// superseded one too) and only those, what the per-torrent reads return.
func testFeedWideReads(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	hash := func(i int) string { return fmt.Sprintf("%040x", i) }
	for f, slug := range []string{"one", "two"} {
		if err := s.EnsureFeed(ctx, slug, "http://example.com/"+slug+".xml"); err != nil {
			t.Fatal(err)
		}
		var eps []store.Episode
		for i := range 3 {
			eps = append(eps, store.Episode{Key: fmt.Sprint("guid:", i), GUID: fmt.Sprint(i), Position: i,
				EnclosureURL: fmt.Sprintf("http://example.com/%s/%d.mp3", slug, i)})
		}
		if err := s.SaveChannel(ctx, store.Feed{Slug: slug}, eps, t0); err != nil {
			t.Fatal(err)
		}
		for i := range 2 { // the third stays unpublished
			ih := hash(10*f + i)
			err := s.Publish(ctx, slug, eps[i].Key, store.Publication{InfoHash: ih, TorrentPath: "torrents/" + ih + ".torrent",
				TorrentSize: 1, MediaPath: fmt.Sprintf("media/%s/%d", slug, i), MediaSize: 1, At: t0})
			if err != nil {
				t.Fatal(err)
			}
			for d := range i + 2 {
				if _, err := s.RecordCompletion(ctx, ih, fmt.Sprint("l", d), t0.Add(time.Duration(d)*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			for d := range 3 {
				sn := store.Snapshot{Tracker: "udp://x", InfoHash: ih, At: t0.Add(time.Duration(d) * 24 * time.Hour), Complete: int64(d + i)}
				if err := s.AddSnapshots(ctx, []store.Snapshot{sn}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// Feed one's first episode gets a new torrent: the old one is still the feed's.
	err := s.Replace(ctx, "one", "guid:0", "http://example.com/one/0b.mp3", "audio/mpeg", 2, store.Publication{
		InfoHash: hash(99), TorrentPath: "torrents/99.torrent", TorrentSize: 1, MediaPath: "media/one/0b", MediaSize: 2, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	since := t0.Add(36 * time.Hour)
	comps, err := s.FeedCompletions(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := s.FeedSnapshotsSince(ctx, "one", since)
	if err != nil {
		t.Fatal(err)
	}
	for _, ih := range []string{hash(0), hash(1), hash(99)} {
		c, err := s.Completions(ctx, ih)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(comps[ih]) != fmt.Sprint(c) {
			t.Errorf("%s: feed-wide completions %v, per torrent %v", ih, comps[ih], c)
		}
		sn, err := s.SnapshotsSince(ctx, ih, since)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(snaps[ih]) != fmt.Sprint(sn) {
			t.Errorf("%s: feed-wide snapshots %v, per torrent %v", ih, snaps[ih], sn)
		}
	}
	if len(comps[hash(0)]) != 2 || len(comps[hash(1)]) != 3 || len(snaps[hash(1)]) != 2 {
		t.Errorf("feed one: completions %v, snapshots %v", comps, snaps)
	}
	for ih := range comps {
		if ih == hash(10) || ih == hash(11) {
			t.Errorf("feed two's torrent %s in feed one's completions", ih)
		}
	}
}
