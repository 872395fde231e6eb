package tracker

import (
	"testing"
	"time"

	anatracker "github.com/anacrolix/torrent/tracker"
)

// TestAnnounceCounts: real announces over HTTP and UDP are counted by protocol and result, and
// the swarm totals sum the swarms.
func TestAnnounceCounts(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr, base := newTestTracker(t, Config{AnnouncesPerIPPerMinute: 60, AnnounceBurst: 3}, nil, clk.now)
	addr := serveUDP(t, tr, "udp4", "127.0.0.1:0")
	announceHTTP(t, base, hashA, "leech", 7001, 10, anatracker.Started)
	if _, err := tryAnnounceHTTP(t.Context(), base, hashU, "stranger", 7002, 10, anatracker.Started); err == nil {
		t.Fatal("announce of an unknown hash answered")
	}
	announceHTTP(t, base, hashB, "seed", 7003, 0, anatracker.Started)
	if _, err := tryAnnounceHTTP(t.Context(), base, hashA, "over", 7004, 10, anatracker.Started); err == nil {
		t.Fatal("announce over the burst answered")
	}
	clk.advance(time.Second) // one token at 60 a minute, for the UDP announce
	mustAnnounceUDP(t, addr, hashA, "udp-leech", 7005, 10, anatracker.Started)

	var want AnnounceCounts
	want[ProtoHTTP][ResultOK] = 2
	want[ProtoHTTP][ResultError] = 1
	want[ProtoHTTP][ResultRateLimited] = 1
	want[ProtoUDP][ResultOK] = 1
	if got := tr.AnnounceCounts(); got != want {
		t.Errorf("AnnounceCounts() = %v, want %v", got, want)
	}
	if s, l := tr.SwarmTotals(); s != 1 || l != 2 {
		t.Errorf("SwarmTotals() = %d seeders, %d leechers; want 1, 2", s, l)
	}
}

// TestAnnounceCountsWebSocket: a browser peer's announces count under ws.
func TestAnnounceCountsWebSocket(t *testing.T) {
	tr, base := newTestTracker(t, Config{}, nil, nil)
	b := dialBrowser(t, base, "counted", nil)
	if m := b.announce(hashA, 10, "started"); m["failure reason"] != nil {
		t.Fatalf("announce: %v", m)
	}
	if m := b.announce(hashU, 10, "started"); m["failure reason"] == nil {
		t.Fatalf("announce of an unknown hash answered: %v", m)
	}
	var want AnnounceCounts
	want[ProtoWS][ResultOK] = 1
	want[ProtoWS][ResultError] = 1
	if got := tr.AnnounceCounts(); got != want {
		t.Errorf("AnnounceCounts() = %v, want %v", got, want)
	}
}
