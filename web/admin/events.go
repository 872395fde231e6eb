package admin

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Events keeps the last log records at Info and above, for the dashboard's "recent events": it
// is a slog.Handler to tee the gateway's log into. Only this node's events: each node shows its own.
type Events struct {
	mu   sync.Mutex
	ring []Event
	next int
	full bool
}

// Event is one log record as the dashboard shows it.
type Event struct {
	Time    time.Time
	Level   string
	Message string
	Attrs   string
}

// NewEvents keeps the last n records.
func NewEvents(n int) *Events { return &Events{ring: make([]Event, n)} }

// eventsHandler is a view of Events with attributes of its own.
type eventsHandler struct {
	e     *Events
	attrs []slog.Attr
}

// Handler is the slog.Handler that records into e.
func (e *Events) Handler() slog.Handler { return eventsHandler{e: e} }

func (h eventsHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h eventsHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	add := func(a slog.Attr) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", a.Key, a.Value.String())
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	attrs := b.String()
	if len(attrs) > 500 {
		attrs = attrs[:500] + "…"
	}
	ev := Event{Time: r.Time.UTC(), Level: r.Level.String(), Message: r.Message, Attrs: attrs}
	h.e.mu.Lock()
	defer h.e.mu.Unlock()
	h.e.ring[h.e.next] = ev
	h.e.next = (h.e.next + 1) % len(h.e.ring)
	h.e.full = h.e.full || h.e.next == 0
	return nil
}

func (h eventsHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return eventsHandler{e: h.e, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

// WithGroup flattens groups: the dashboard shows key=value text.
func (h eventsHandler) WithGroup(string) slog.Handler { return h }

// Recent returns the records kept, newest first.
func (e *Events) Recent() []Event {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := e.next
	if e.full {
		n = len(e.ring)
	}
	out := make([]Event, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, e.ring[(e.next-i+len(e.ring))%len(e.ring)])
	}
	return out
}

// Tee is a slog.Handler sending each record to every handler that wants it.
type Tee []slog.Handler

func (t Tee) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range t {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (t Tee) Handle(ctx context.Context, r slog.Record) error {
	var first error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			if err := h.Handle(ctx, r.Clone()); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (t Tee) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(Tee, len(t))
	for i, h := range t {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (t Tee) WithGroup(name string) slog.Handler {
	out := make(Tee, len(t))
	for i, h := range t {
		out[i] = h.WithGroup(name)
	}
	return out
}
