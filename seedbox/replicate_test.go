package seedbox

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// A node replicates a torrent from another node's seeder: the bytes arrive over BitTorrent
// only (the web seed, standing for the origin, is never asked), whole, verified, at dest.
func TestReplicateFromSeederNeverFromOrigin(t *testing.T) {
	t.Run("v1", func(t *testing.T) { testReplicate(t, newEpisode(t, t.TempDir(), 3<<20+12345, nil)) })
	t.Run("hybrid", func(t *testing.T) { testReplicate(t, newHybridEpisode(t, t.TempDir(), 3<<20+12345)) })
}

func testReplicate(t *testing.T, ep episode) {
	var originHits atomic.Int32
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		http.Error(w, "the origin must not be asked", http.StatusTeapot)
	}))
	defer origin.Close()

	ep.mi.UrlList = []string{origin.URL + "/episode.mp3"}
	seeder := newTestSeeder(t, t.TempDir())
	if err := seeder.Add(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "media", "show", "Episode One.mp3")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	peer := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(seeder.ListenPort()))
	if err := Replicate(ctx, ep.mi, dest, func() []netip.AddrPort { return []netip.AddrPort{peer} }, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(got, ep.data) {
		t.Fatalf("replicated %d bytes (%v), want the %d seeded", len(got), err, len(ep.data))
	}
	if n := originHits.Load(); n != 0 {
		t.Fatalf("the origin was asked %d times", n)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".replica-*")); len(left) != 0 {
		t.Fatalf("work files left behind: %v", left)
	}
	// The replica is a file a seeder takes as complete: every piece hashes right.
	other := newTestSeeder(t, t.TempDir())
	if err := other.Add(t.Context(), ep.mi, dest); err != nil {
		t.Fatalf("seeding the replica: %v", err)
	}
}

// With no peer to fetch from, Replicate gives up when its context ends and leaves no file.
func TestReplicateWithoutPeersLeavesNothing(t *testing.T) {
	ep := newEpisode(t, t.TempDir(), 1<<20, nil)
	dest := filepath.Join(t.TempDir(), "Episode One.mp3")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err := Replicate(ctx, ep.mi, dest, nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dest exists after a failed replication: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".replica-*")); len(left) != 0 {
		t.Fatalf("work files left behind: %v", left)
	}
}
