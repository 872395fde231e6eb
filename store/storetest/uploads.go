package storetest

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// testSeederUploads: each node's additions add up, across handles (a restart, another node) and
// concurrent writers; a feed's figure holds every torrent it has had and no other feed's.
func testSeederUploads(t *testing.T, open Opener) {
	ctx := context.Background()
	s, another := open(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	hash := func(i int) string { return fmt.Sprintf("%040x", i) }
	for f, slug := range []string{"one", "two"} {
		if err := s.EnsureFeed(ctx, slug, "http://example.com/"+slug+".xml"); err != nil {
			t.Fatal(err)
		}
		eps := []store.Episode{{Key: "guid:a", GUID: "a", EnclosureURL: "http://example.com/" + slug + "/a.mp3"}}
		if err := s.SaveChannel(ctx, store.Feed{Slug: slug}, eps, t0); err != nil {
			t.Fatal(err)
		}
		ih := hash(f)
		if err := s.Publish(ctx, slug, "guid:a", store.Publication{InfoHash: ih, TorrentPath: "torrents/" + ih + ".torrent",
			TorrentSize: 1, MediaPath: "media/" + slug + "/a", MediaSize: 1, At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.FeedSeederUploads(ctx, "one"); err != nil || len(got) != 0 {
		t.Fatalf("before any upload: %v, %v; want none", got, err)
	}
	// Feed one's episode is replaced: its old torrent's bytes still count for the feed.
	if err := s.Replace(ctx, "one", "guid:a", "http://example.com/one/a2.mp3", "audio/mpeg", 2, store.Publication{
		InfoHash: hash(9), TorrentPath: "torrents/9.torrent", TorrentSize: 1, MediaPath: "media/one/a2", MediaSize: 2, At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSeederUploads(ctx, "node-a", t0, map[string]int64{hash(0): 100, hash(1): 7, hash(9): 0}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSeederUploads(ctx, "node-a", t0, nil); err != nil {
		t.Fatal(err)
	}
	// Node a again after a restart (another handle), and node b, each adding its own.
	s2 := another()
	if err := s2.AddSeederUploads(ctx, "node-a", t0.Add(24*time.Hour), map[string]int64{hash(0): 50, hash(9): 5}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s2.AddSeederUploads(ctx, "node-b", t0.Add(24*time.Hour), map[string]int64{hash(0): 1, hash(9): 2})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int64{hash(0): 100 + 50 + 20, hash(9): 5 + 40}
	if got, err := s.FeedSeederUploads(ctx, "one"); err != nil || !maps.Equal(got, want) {
		t.Fatalf("feed one = %v, %v; want %v", got, err, want)
	}
	if got, err := s.FeedSeederUploads(ctx, "two"); err != nil || !maps.Equal(got, map[string]int64{hash(1): 7}) {
		t.Fatalf("feed two = %v, %v; want only its own torrent's 7", got, err)
	}
	// Per UTC day, every node summed: t0's day had 107, the next 55 + 20 × 3.
	day0, day1 := t0.UTC().Format(time.DateOnly), t0.Add(24*time.Hour).UTC().Format(time.DateOnly)
	if got, err := s.DailySeederUploads(ctx, t0.Add(-time.Hour)); err != nil || !maps.Equal(got, map[string]int64{day0: 107, day1: 115}) {
		t.Fatalf("daily = %v, %v", got, err)
	}
	if got, err := s.DailySeederUploads(ctx, t0.Add(24*time.Hour)); err != nil || !maps.Equal(got, map[string]int64{day1: 115}) {
		t.Fatalf("daily since the second day = %v, %v", got, err)
	}
}
