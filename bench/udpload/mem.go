package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/seedcast/seedcast/tracker"
)

// measureMemory runs the real tracker in this process on a loopback UDP socket, fills it with
// o.peers peers over torrents random info hashes, and prints the growth of the live heap (after a
// full GC) per peer: the peer store's cost, which the gateway's RSS hides behind its other garbage.
func measureMemory(ctx context.Context, o options, torrents int) error {
	dir, err := os.MkdirTemp("", "udpload-mem")
	if err != nil {
		return fmt.Errorf("udpload: %w", err)
	}
	defer os.RemoveAll(dir)
	tr := tracker.New(tracker.Config{AnnouncesPerIPPerMinute: -1}, nil, slog.New(slog.DiscardHandler), nil)
	var lines strings.Builder
	for range torrents {
		var h [20]byte
		_, _ = rand.Read(h[:])
		if err := tr.Allow(ctx, h, 0); err != nil {
			return fmt.Errorf("udpload: %w", err)
		}
		lines.WriteString(hex.EncodeToString(h[:]) + "\n")
	}
	o.hashes = filepath.Join(dir, "hashes.txt")
	if err := os.WriteFile(o.hashes, []byte(lines.String()), 0o644); err != nil {
		return fmt.Errorf("udpload: %w", err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("udpload: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = tr.ServeUDP(ctx, conn) }()

	before := liveHeap()
	o.addr, o.fill = conn.LocalAddr().String(), true
	if err := run(ctx, o); err != nil {
		return err
	}
	after := liveHeap()
	runtime.KeepAlive(tr)
	fmt.Printf("tracker live heap %d -> %d bytes with %d peers in %d torrents: %.0f bytes per peer\n",
		before, after, o.peers, torrents, float64(after-before)/float64(o.peers))
	return nil
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
