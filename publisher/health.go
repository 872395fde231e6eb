package publisher

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// healthTTL is how long one store check answers /healthz: the check reads every page of the
// store, and /healthz is public, so strangers polling it must not make the gateway do it often.
const healthTTL = 30 * time.Second

// health answers /healthz from the store's own consistency check, so a damaged store (queries
// failing with "database disk image is malformed") takes the gateway out of its load balancer
// instead of answering 200 while every feed answers 500.
type health struct {
	check func(context.Context) error
	log   *slog.Logger
	now   func() time.Time

	mu  sync.Mutex // held during a check: requests arriving meanwhile wait for its answer
	at  time.Time  // when err was found; zero = never checked
	err error
}

func (h *health) result(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.at.IsZero() && h.now().Sub(h.at) < healthTTL {
		return h.err
	}
	err := h.check(ctx)
	if ctx.Err() != nil {
		return err // the client went away: not a finding about the store
	}
	if err != nil && h.err == nil {
		h.log.Error("store check failed: /healthz answers 503 until it passes", "err", err)
	}
	h.at, h.err = h.now(), err
	return err
}

func (h *health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := h.result(r.Context()); err != nil {
		// The details are in the log; a public endpoint says only what failed.
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("store check failed\n"))
		return
	}
	w.Write([]byte("ok"))
}
