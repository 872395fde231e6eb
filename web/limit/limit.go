// Package limit counts attempts per source address in fixed windows, in bounded memory: the
// sign-in and submission forms' rate limits.
package limit

import (
	"net/netip"
	"sync"
	"time"
)

// MaxSources bounds the table; past it, every new address shares one count until the window
// ends.
const MaxSources = 10000

// Window allows Max attempts per address (IPv4, or IPv6 by /64) per window.
type Window struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	start  time.Time
	counts map[netip.Prefix]int
}

// New allows max attempts per address per window.
func New(max int, window time.Duration) *Window {
	return &Window{max: max, window: window, counts: make(map[netip.Prefix]int)}
}

// Allow counts one attempt from addr at now and reports whether it is within the limit.
func (l *Window) Allow(addr netip.Addr, now time.Time) bool {
	addr = addr.Unmap()
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	k, _ := addr.Prefix(bits)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window {
		l.start, l.counts = now, make(map[netip.Prefix]int)
	}
	if _, ok := l.counts[k]; !ok && len(l.counts) >= MaxSources {
		k = netip.Prefix{}
	}
	l.counts[k]++
	return l.counts[k] <= l.max
}

// sources is how many addresses the window holds (for tests).
func (l *Window) sources() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.counts)
}
