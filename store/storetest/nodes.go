package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// testNodes: heartbeats from two handles are listed, the latest of each node kept.
func testNodes(t *testing.T, open Opener) {
	ctx := context.Background()
	s, another := open(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if nodes, err := s.ListNodes(ctx); err != nil || len(nodes) != 0 {
		t.Fatalf("nodes of a new store = %v, %v", nodes, err)
	}
	b := another()
	for i, n := range []store.Node{
		{Name: "b", StartedAt: t0, LastSeen: t0, Seeding: 1, DiskBytes: 10},
		{Name: "a", StartedAt: t0, LastSeen: t0.Add(time.Second), Seeding: 2, DiskBytes: 20},
		{Name: "b", StartedAt: t0, LastSeen: t0.Add(10 * time.Second), Seeding: 3, DiskBytes: 30},
	} {
		h := s
		if i%2 == 1 {
			h = b
		}
		if err := h.Heartbeat(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	nodes, err := s.ListNodes(ctx)
	want := []store.Node{
		{Name: "a", StartedAt: t0, LastSeen: t0.Add(time.Second), Seeding: 2, DiskBytes: 20},
		{Name: "b", StartedAt: t0, LastSeen: t0.Add(10 * time.Second), Seeding: 3, DiskBytes: 30},
	}
	if err != nil || fmt.Sprint(nodes) != fmt.Sprint(want) {
		t.Fatalf("nodes = %v, %v; want %v", nodes, err, want)
	}
}

// testFeedLeases: one node holds a feed's poll lease at a time; it renews its own, a dead
// node's expires, release keeps the poller's name; racing nodes get it once.
func testFeedLeases(t *testing.T, open Opener) {
	ctx := context.Background()
	s, another := open(t)
	b := another()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	ttl := 30 * time.Second
	if err := s.EnsureFeed(ctx, "show", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	lease := func(h store.Store, node string, at time.Time) bool {
		t.Helper()
		ok, err := h.LeaseFeed(ctx, "show", node, at, at.Add(ttl))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !lease(s, "a", t0) {
		t.Fatal("a free lease was refused")
	}
	if lease(b, "b", t0.Add(time.Second)) {
		t.Fatal("b took a's live lease")
	}
	if !lease(s, "a", t0.Add(20*time.Second)) {
		t.Fatal("a could not renew its own lease")
	}
	if lease(b, "b", t0.Add(40*time.Second)) {
		t.Fatal("b took a's renewed lease before it expired")
	}
	if !lease(b, "b", t0.Add(51*time.Second)) {
		t.Fatal("b could not take the lease of a node gone for longer than it lasts")
	}
	if lease(s, "a", t0.Add(52*time.Second)) {
		t.Fatal("a took back a lease b holds")
	}
	if f, err := s.Feed(ctx, "show"); err != nil || f.PolledBy != "b" {
		t.Fatalf("polled by = %q, %v; want b", f.PolledBy, err)
	}
	if err := b.ReleaseFeed(ctx, "show", "b"); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Feed(ctx, "show"); f.PolledBy != "b" {
		t.Fatalf("after release, polled by = %q; want b still", f.PolledBy)
	}
	if !lease(s, "a", t0.Add(53*time.Second)) {
		t.Fatal("a released lease was refused")
	}
	if ok, err := s.LeaseFeed(ctx, "missing", "a", t0, t0.Add(ttl)); err != nil || ok {
		t.Fatalf("lease of an unknown feed = %v, %v", ok, err)
	}

	// Ten nodes at once on a free lease: exactly one gets it.
	at := t0.Add(time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := range 10 {
		h := s
		if i%2 == 1 {
			h = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := h.LeaseFeed(ctx, "show", fmt.Sprint("n", i), at, at.Add(ttl))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if winners != 1 {
		t.Fatalf("%d nodes got the lease at once, want 1", winners)
	}
}
