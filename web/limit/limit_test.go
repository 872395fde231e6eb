package limit

import (
	"net/netip"
	"testing"
	"time"
)

func TestByAddressAndV6Prefix(t *testing.T) {
	l := New(2, time.Hour)
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	a := netip.MustParseAddr("2001:db8:1:2::1")
	b := netip.MustParseAddr("2001:db8:1:2:ffff::9") // same /64
	c := netip.MustParseAddr("2001:db8:1:3::1")
	if !l.Allow(a, t0) || !l.Allow(b, t0) || l.Allow(a, t0) {
		t.Error("one /64 is one address")
	}
	if !l.Allow(c, t0) {
		t.Error("another /64 is another address")
	}
	v4 := netip.MustParseAddr("127.0.5.9")
	if !l.Allow(v4, t0) || !l.Allow(netip.AddrFrom16(v4.As16()), t0) || l.Allow(v4, t0) {
		t.Error("an IPv4-mapped address is its IPv4 address")
	}
	if !l.Allow(a, t0.Add(time.Hour)) {
		t.Error("a new window starts afresh")
	}
	// Bounded: past MaxSources distinct addresses, new ones share one count.
	for i := range MaxSources + 10 {
		l.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), t0.Add(time.Hour))
	}
	if n := l.sources(); n > MaxSources+1 {
		t.Errorf("%d sources kept, want at most %d", n, MaxSources+1)
	}
}
