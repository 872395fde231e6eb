package tracker

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store/sqlite"
)

// A completion that arrives while the disk is full is kept and written once
// there is space again. The store is a real SQLite file on a small tmpfs,
// filled up for real (mounting needs root; elsewhere the test skips).
func TestCompletionsKeptWhileDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := New(Config{AnnouncesPerIPPerMinute: -1, PeerTTL: 2 * time.Second}, st, testLogger(t), clk.now)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	mustAnn(t, tr, hashA, rawID("-qB4650-first"), "127.0.5.9", 100, eventStarted)
	mustAnn(t, tr, hashA, rawID("-qB4650-first"), "127.0.5.9", 0, eventCompleted) // stores the day's salt too
	if n := downloaded(t, tr, hashA); n != 1 {
		t.Fatalf("downloaded = %d, want 1", n)
	}

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	mustAnn(t, tr, hashA, rawID("-TR3000-second"), "127.0.5.10", 100, eventStarted)
	mustAnn(t, tr, hashA, rawID("-TR3000-second"), "127.0.5.10", 0, eventCompleted)
	if n := downloaded(t, tr, hashA); n != 1 {
		t.Fatalf("downloaded = %d with the disk full, want 1 (the second not yet written)", n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan struct{})
	go func() { tr.Run(ctx); close(ran) }()
	// Run has stopped before the store closes and the tmpfs is unmounted (a write still in
	// flight would keep the mount busy).
	t.Cleanup(func() { cancel(); <-ran })
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return downloaded(t, tr, hashA) == 2 })
	if n, err := st.CompletionCount(t.Context(), hex.EncodeToString(hashA[:])); err != nil || n != 2 {
		t.Fatalf("stored = %d, %v; want 2", n, err)
	}
}

// fill writes path until the file system has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}
