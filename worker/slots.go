package worker

import (
	"context"
	"net/url"
	"strings"
	"sync"
)

// slots bounds work running at once, overall and per origin host. The
// worker keeps two: poll slots, held while a feed is fetched and parsed, and
// download slots, held while one enclosure downloads. Keeping them apart means
// a slow or stalled download never holds up the polling of other feeds on
// its host, and each feed downloads one enclosure at a time, so one feed
// holds at most one of its host's download slots.
type slots struct {
	perHost int
	all     chan struct{}

	mu    sync.Mutex
	hosts map[string]chan struct{}
}

func newSlots(total, perHost int) *slots {
	return &slots{perHost: perHost, all: make(chan struct{}, total), hosts: map[string]chan struct{}{}}
}

// acquire takes a global and a per-host slot for rawURL's host, released
// with the returned func.
func (s *slots) acquire(ctx context.Context, rawURL string) (func(), error) {
	host := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		host = strings.ToLower(u.Host)
	}
	s.mu.Lock()
	hc, ok := s.hosts[host]
	if !ok {
		hc = make(chan struct{}, s.perHost)
		s.hosts[host] = hc
	}
	s.mu.Unlock()
	select {
	case s.all <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case hc <- struct{}{}:
	case <-ctx.Done():
		<-s.all
		return nil, ctx.Err()
	}
	return func() { <-hc; <-s.all }, nil
}
