package tracker

import (
	"net/netip"
	"sync"
	"time"
)

// defaultMaxSources bounds the limiter's memory (a bucket is about 100 bytes).
const defaultMaxSources = 100_000

// rateLimiter is a token bucket per source: an IPv4 address, or an IPv6 /64,
// since one host usually holds a whole /64 and could otherwise pick a fresh
// address per request; an IPv6 announce also takes from its /48's bucket,
// wide48Scale times larger. A full bucket is the same as no bucket, so buckets are
// dropped once they have refilled, which keeps memory proportional to the
// sources active in the last few seconds.
type rateLimiter struct {
	perSecond  float64
	burst      float64
	exempt     []netip.Prefix
	maxSources int

	mu      sync.Mutex
	buckets map[netip.Prefix]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	scale  float64 // of the limiter's rate and burst: wide48Scale for an IPv6 /48
}

// wide48Scale is the budget of an IPv6 /48, in /64s: a site holds a /48 and
// could otherwise spread announces over 65,536 /64s, each with a full budget.
const wide48Scale = 8

// newRateLimiter returns nil, which allows everything, when perMinute is negative.
func newRateLimiter(perMinute, burst int, exempt []netip.Prefix) *rateLimiter {
	if perMinute < 0 {
		return nil
	}
	return &rateLimiter{
		perSecond:  float64(perMinute) / 60,
		burst:      float64(burst),
		exempt:     exempt,
		maxSources: defaultMaxSources,
		buckets:    make(map[netip.Prefix]*bucket),
	}
}

// allow takes one token from addr's bucket and reports whether there was one.
func (l *rateLimiter) allow(addr netip.Addr, now time.Time) bool {
	if l == nil {
		return true
	}
	addr = addr.Unmap().WithZone("")
	if inPrefixes(l.exempt, addr) {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	narrow, ok := l.bucket(sourceKey(addr), 1, now)
	if !ok {
		return false
	}
	if addr.Is4() {
		return narrow.take()
	}
	p48, _ := addr.Prefix(48)
	wide, ok := l.bucket(p48, wide48Scale, now)
	if !ok || narrow.tokens < 1 || wide.tokens < 1 {
		return false
	}
	narrow.take()
	return wide.take()
}

// bucket returns key's bucket, refilled to now, and false when there is no
// room for a new one. l.mu is held.
func (l *rateLimiter) bucket(key netip.Prefix, scale float64, now time.Time) (*bucket, bool) {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxSources {
			l.sweepLocked(now)
		}
		if len(l.buckets) >= l.maxSources {
			// Too many sources at once is itself an attack: refuse newcomers
			// rather than grow without bound or forget the sources being limited.
			return nil, false
		}
		b = &bucket{tokens: l.burst * scale, last: now, scale: scale}
		l.buckets[key] = b
	}
	l.refill(b, now)
	return b, true
}

func (b *bucket) take() bool {
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *rateLimiter) refill(b *bucket, now time.Time) {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst*b.scale, b.tokens+elapsed.Seconds()*l.perSecond*b.scale)
		b.last = now
	}
}

// sweep drops the buckets that have refilled, and returns how many are left.
func (l *rateLimiter) sweep(now time.Time) int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	return len(l.buckets)
}

func (l *rateLimiter) sweepLocked(now time.Time) {
	for key, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst*b.scale {
			delete(l.buckets, key)
		}
	}
}

func sourceKey(addr netip.Addr) netip.Prefix {
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(64)
	return p
}

// inPrefixes reports whether a lies in any of ps.
func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
