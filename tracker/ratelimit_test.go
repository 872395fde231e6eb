package tracker

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	anatracker "github.com/anacrolix/torrent/tracker"
)

func TestHTTPAnnounceRateLimit(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := Config{AnnouncesPerIPPerMinute: 60, AnnounceBurst: 3}
	tr, base := newTestTracker(t, cfg, nil, clk.now)
	announce := func(id string) string {
		t.Helper()
		m := getBencode(t, base+"/announce?"+announceValues(hashA, id, 7001, 10).Encode())
		reason, _ := m["failure reason"].(string)
		return reason
	}
	for i := range 3 {
		if r := announce(fmt.Sprint("p", i)); r != "" {
			t.Fatalf("announce %d within the burst: %q", i, r)
		}
	}
	if r := announce("over"); r != "rate limited" {
		t.Fatalf("announce over the burst: failure reason %q, want \"rate limited\"", r)
	}
	// A limited announce changes nothing.
	wantStats(t, tr, hashA, Stats{Incomplete: 3})
	// Scrapes are not announces: still answered.
	if m := getBencode(t, base+"/scrape"); m["failure reason"] != nil {
		t.Fatalf("scrape while limited: %v", m)
	}

	clk.advance(time.Second) // one token at 60 a minute
	if r := announce("later"); r != "" {
		t.Fatalf("announce after refill: %q", r)
	}
	if r := announce("later2"); r != "rate limited" {
		t.Fatalf("second announce after one token: %q, want \"rate limited\"", r)
	}
	wantStats(t, tr, hashA, Stats{Incomplete: 4})

	// Malformed announces are charged too, so they cannot be used to flood.
	clk.advance(time.Minute)
	for range 3 {
		getBencode(t, base+"/announce?garbage")
	}
	if r := announce("after-garbage"); r != "rate limited" {
		t.Fatalf("announce after 3 malformed: %q, want \"rate limited\"", r)
	}
}

func TestUDPAnnounceRateLimit(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := New(Config{AnnouncesPerIPPerMinute: 60, AnnounceBurst: 2}, nil, testLogger(t), clk.now)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	addr := serveUDP(t, tr, "udp4", "127.0.0.1:0")
	c := newRawUDP(t, addr)
	id := c.connect(1)
	announce := func(tx uint32, peer string) []byte {
		c.send(udpRequest(id, actionAnnounce, tx, announceBody(hashA, peer, 10, eventStarted, 7001)))
		return c.recv()
	}
	for i := range uint32(2) {
		if r := announce(10+i, fmt.Sprint("p", i)); binary.BigEndian.Uint32(r[0:4]) != actionAnnounce {
			t.Fatalf("announce %d within the burst: reply %x", i, r)
		}
	}
	wantUDPError(t, announce(20, "over"), 20, "rate limited")
	wantStats(t, tr, hashA, Stats{Incomplete: 2})

	// Forged connection IDs are refused before the limit is charged, so a
	// spoofer cannot use up someone else's budget.
	clk.advance(2 * time.Second)
	c.send(udpRequest(0xbad, actionAnnounce, 30, announceBody(hashA, "x", 10, eventStarted, 7001)))
	wantUDPError(t, c.recv(), 30, "invalid connection id")
	if r := announce(31, "later"); binary.BigEndian.Uint32(r[0:4]) != actionAnnounce {
		t.Fatalf("announce after refill: reply %x", r)
	}
	// Connect and scrape are not announces.
	c.connect(32)
	c.send(udpRequest(id, actionScrape, 33, hashA[:]))
	if r := c.recv(); binary.BigEndian.Uint32(r[0:4]) != actionScrape {
		t.Fatalf("scrape while limited: reply %x", r)
	}
}

func TestRateLimitExemptAndDisabled(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	for name, cfg := range map[string]Config{
		"exempt":   {AnnounceBurst: 1, RateLimitExempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		"disabled": {AnnounceBurst: 1, AnnouncesPerIPPerMinute: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, base := newTestTracker(t, cfg, nil, clk.now)
			for i := range 5 {
				announceHTTP(t, base, hashA, fmt.Sprint("p", i), 7001, 10, anatracker.Started)
			}
		})
	}
}

// The /64s of one IPv6 /48 share a budget wide48Scale times a /64's.
func TestRateLimiterAggregatesIPv6By48(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(60, 1, nil)
	allowed := 0
	for i := range 100 {
		if l.allow(netip.MustParseAddr(fmt.Sprintf("2001:db8:7:%x::1", i)), now) {
			allowed++
		}
	}
	if allowed != wide48Scale {
		t.Fatalf("100 /64s of one /48 got %d announces, want %d", allowed, wide48Scale)
	}
	if !l.allow(netip.MustParseAddr("2001:db8:8::1"), now) {
		t.Fatal("another /48 shares the budget")
	}
	// It refills at wide48Scale times the /64 rate.
	if !l.allow(netip.MustParseAddr("2001:db8:7:1000::1"), now.Add(time.Second/wide48Scale)) {
		t.Fatal("the /48 did not refill")
	}
}

func TestRateLimiterPerSourceAndBounded(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(60, 1, nil)
	a := netip.MustParseAddr
	if !l.allow(a("192.0.2.1"), now) || l.allow(a("192.0.2.1"), now) {
		t.Fatal("IPv4 source: want one announce, then limited")
	}
	// The IPv4-mapped form is the same source.
	if l.allow(a("::ffff:192.0.2.1"), now) {
		t.Fatal("IPv4-mapped form escaped its source's limit")
	}
	if !l.allow(a("192.0.2.2"), now) {
		t.Fatal("another IPv4 address shares the bucket")
	}
	// Every address of one IPv6 /64 is one source; the next /64 is another.
	if !l.allow(a("2001:db8:0:1::1"), now) || l.allow(a("2001:db8:0:1:ffff::9"), now) {
		t.Fatal("IPv6 /64: want one announce, then limited")
	}
	if !l.allow(a("2001:db8:0:2::1"), now) {
		t.Fatal("another /64 shares the bucket")
	}
	if n := l.sweep(now); n != 5 {
		t.Fatalf("%d buckets, want 5 (2 IPv4, 2 /64s, their /48)", n)
	}
	// Refilled buckets are dropped: memory follows recent activity only.
	if n := l.sweep(now.Add(time.Second)); n != 0 {
		t.Fatalf("%d buckets after refill, want 0", n)
	}

	// When the table is full of active sources, newcomers are refused
	// rather than the table growing; once they go idle there is room again.
	l.maxSources = 2
	l.allow(a("198.51.100.1"), now)
	l.allow(a("198.51.100.2"), now)
	if l.allow(a("198.51.100.3"), now) {
		t.Fatal("third source admitted to a full table")
	}
	if !l.allow(a("198.51.100.3"), now.Add(time.Second)) {
		t.Fatal("third source refused after the others refilled")
	}
	if n := l.sweep(now.Add(time.Second)); n > 2 {
		t.Fatalf("%d buckets, bound is 2", n)
	}
}

func TestRunSweepsRateLimiter(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := New(Config{AnnounceBurst: 1}, nil, testLogger(t), clk.now)
	tr.allowAnnounce(netip.MustParseAddr("192.0.2.1"))
	clk.advance(time.Second)
	tr.sweep()
	if n := tr.limiter.sweep(clk.now()); n != 0 {
		t.Fatalf("%d buckets left after the tracker's sweep", n)
	}
}

func TestMaxPeersAcrossTorrents(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr, base := newTestTracker(t, Config{MaxPeers: 3, PeerTTL: time.Hour}, nil, clk.now)
	step := func(ih [20]byte, id string, port uint16) {
		clk.advance(time.Second)
		announceHTTP(t, base, ih, id, port, 10, anatracker.Started)
	}
	step(hashA, "a1", 7001)
	step(hashA, "a2", 7002)
	step(hashB, "b1", 7003)
	// Over the total: the newcomer takes its swarm's stalest place.
	step(hashB, "b2", 7004)
	wantStats(t, tr, hashB, Stats{Incomplete: 1})
	wantStats(t, tr, hashA, Stats{Incomplete: 2})
	// A newcomer to an empty swarm takes the biggest swarm's stalest place.
	tr.Forget(hashB)
	if err := tr.Allow(t.Context(), hashB, 0); err != nil {
		t.Fatal(err)
	}
	step(hashA, "a3", 7005)
	step(hashB, "b3", 7006)
	wantStats(t, tr, hashA, Stats{Incomplete: 2})
	wantStats(t, tr, hashB, Stats{Incomplete: 1})
	tr.mu.Lock()
	n := tr.npeers
	tr.mu.Unlock()
	if n != 3 {
		t.Fatalf("npeers = %d, want 3", n)
	}
	clk.advance(2 * time.Hour)
	tr.sweep()
	step(hashA, "a6", 7010)
	wantStats(t, tr, hashA, Stats{Incomplete: 1})
}
