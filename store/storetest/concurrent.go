package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// testConcurrentWriters races two handles on one database (two processes or nodes): nothing
// fails, nothing is lost and nothing is counted twice.
func testConcurrentWriters(t *testing.T, open Opener) {
	ctx := context.Background()
	a, another := open(t)
	b := another()
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if err := a.EnsureFeed(ctx, "race", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	var eps []store.Episode
	for i := range 20 {
		eps = append(eps, store.Episode{Key: fmt.Sprintf("guid:%d", i), GUID: fmt.Sprint(i), Title: fmt.Sprint("E", i),
			Position: i, EnclosureURL: fmt.Sprintf("http://example.com/%d.mp3", i)})
	}
	const ih = "0123456789abcdef0123456789abcdef01234567"
	const rounds = 10

	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	counted := make(chan bool, 1000)
	for h, s := range []store.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				// The same poll from both, a new title each round.
				f := store.Feed{Slug: "race", Title: fmt.Sprintf("Round %d", r)}
				if err := s.SaveChannel(ctx, f, eps, at.Add(time.Duration(r)*time.Minute)); err != nil {
					errs <- fmt.Errorf("handle %d: save channel: %w", h, err)
				}
				// One listener seen by both nodes, and one listener per handle and round.
				for _, l := range []string{"shared", fmt.Sprintf("l%d-%d", h, r)} {
					ok, err := s.RecordCompletion(ctx, ih, l, at)
					if err != nil {
						errs <- fmt.Errorf("handle %d: record completion: %w", h, err)
					}
					counted <- ok
				}
				err := s.AddSnapshots(ctx, []store.Snapshot{{Tracker: fmt.Sprintf("udp://t%d", h), InfoHash: ih,
					At: at.Add(time.Duration(r) * time.Minute), Complete: int64(r), Downloaded: int64(r)}})
				if err != nil {
					errs <- fmt.Errorf("handle %d: add snapshots: %w", h, err)
				}
			}
			// Each handle publishes its own half of the episodes.
			for i := h; i < len(eps); i += 2 {
				p := store.Publication{InfoHash: fmt.Sprintf("%040x", i+1), TorrentPath: fmt.Sprintf("torrents/%d.torrent", i),
					TorrentSize: 100, MediaPath: fmt.Sprintf("media/race/%d.mp3", i), MediaSize: 10, At: at}
				if err := s.Publish(ctx, "race", eps[i].Key, p); err != nil {
					errs <- fmt.Errorf("handle %d: publish %s: %w", h, eps[i].Key, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(counted)
	for err := range errs {
		t.Error(err)
	}
	n := 0
	for ok := range counted {
		if ok {
			n++
		}
	}
	// "shared" once, plus each handle's own listener of each round.
	if want := 1 + 2*rounds; n != want {
		t.Errorf("%d completions reported as counted, want %d", n, want)
	}
	if c, err := a.CompletionCount(ctx, ih); err != nil || c != int64(1+2*rounds) {
		t.Errorf("completion count = %d, %v; want %d", c, err, 1+2*rounds)
	}
	if e, err := b.CompletionEvents(ctx, ih); err != nil || e != int64(4*rounds) {
		t.Errorf("completion events = %d, %v; want %d", e, err, 4*rounds)
	}
	pub, err := b.Published(ctx, "race")
	if err != nil || len(pub) != len(eps) {
		t.Errorf("%d published (%v), want %d", len(pub), err, len(eps))
	}
	if counts, err := a.StateCounts(ctx, "race"); err != nil || counts[store.StatePublished] != len(eps) || len(counts) != 1 {
		t.Errorf("state counts = %v, %v; want %d published and nothing else", counts, err, len(eps))
	}
	snaps, err := a.Snapshots(ctx, ih)
	if err != nil || len(snaps) != 2*rounds {
		t.Errorf("%d snapshots (%v), want %d (every figure changed each round)", len(snaps), err, 2*rounds)
	}
	var last int
	if f, err := a.Feed(ctx, "race"); err != nil || func() bool { _, e := fmt.Sscanf(f.Title, "Round %d", &last); return e != nil }() {
		t.Errorf("feed title = %q, %v; want one of the rounds'", f.Title, err)
	}
}
