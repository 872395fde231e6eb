package seedbox

import (
	"bytes"
	"log/slog"
	"testing"
	"time"
)

// The gate's rule on its own, on a clock the test moves: each block once first, a repeat only
// after its grace or a cancel, and not while a peer holds the piece.
func TestOnceGate(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	const grace = 10 * time.Second
	// 4 blocks in 2 pieces of 2 blocks.
	g := newOnceGate(4*onceBlock, 2*onceBlock, grace, func() time.Time { return now })
	held := map[int]bool{}
	g.setHeld(func(p int) bool { return held[p] })

	step := func(what string, off int64, n int, want bool) {
		t.Helper()
		if got := g.allow(off, n); got != want {
			t.Fatalf("%s: allow(%d, %d) = %v, want %v", what, off, n, got, want)
		}
	}
	step("first send of block 0", 0, onceBlock, true)
	step("block 0 again at once", 0, onceBlock, false)
	step("a request spanning blocks 0 and 1", onceBlock/2, onceBlock, false)
	step("first send of block 1", onceBlock, onceBlock, true)
	step("first send of blocks 2 and 3 in one request", 2*onceBlock, 2*onceBlock, true)
	g.cancelled(1, 0) // block 2: the peer cancelled it, so it may never have gone out
	step("block 2 again after its request was cancelled", 2*onceBlock, onceBlock, true)
	step("block 2 again right after that", 2*onceBlock, onceBlock, false)
	now = now.Add(grace)
	held[0] = true
	step("block 0 after its grace while a peer holds piece 0", 0, onceBlock, false)
	held[0] = false
	step("block 0 after its grace, nobody holds piece 0", 0, onceBlock, true)
	step("block 0 again right after that second send", 0, onceBlock, false)
	now = now.Add(3 * grace)
	held[1] = true
	step("block 2 after three graces, even though a peer holds piece 1", 2*onceBlock, onceBlock, true)
	step("a read past the end is left to the client", 4*onceBlock, onceBlock, true)
}

// With the gate on, one leecher asking for each block once is never refused: it gets the file,
// and the seeder sends one copy.
func TestSeederServeOnceFirstOneLeecher(t *testing.T) {
	const limit = 8 << 20
	ep := newEpisode(t, t.TempDir(), 2<<20, nil)
	s, err := NewSeeder(SeederConfig{
		ListenAddr:      "127.0.0.1:0",
		StateDir:        t.TempDir(),
		DisableUTP:      true,
		UploadRateLimit: limit,
		ServeOnceFirst:  true,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	if got := leech(t, ep.mi, s.ListenPort()); !bytes.Equal(got, ep.data) {
		t.Fatal("leecher got different bytes")
	}
	if up := s.Uploaded()[ep.mi.HashInfoBytes()]; up != int64(len(ep.data)) {
		t.Fatalf("the seeder sent %d bytes for a %d-byte file to one leecher, want exactly one copy", up, len(ep.data))
	}
}
