package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/feedcheck"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/subscribe"
	"github.com/seedcast/seedcast/tracker"
	"github.com/seedcast/seedcast/web/admin"
	"github.com/seedcast/seedcast/worker"
)

// newManager is the feed manager for cfg; sched nil in the CLI (it schedules nothing).
func newManager(cfg *config.Config, st store.Store, w *worker.Worker, sched *worker.Scheduler, log *slog.Logger) *subscribe.Manager {
	schedules := map[string]string{}
	for _, f := range cfg.Feeds {
		schedules[f.Slug] = f.Schedule
	}
	mcfg := subscribe.Config{Pinned: workerFeeds(cfg), Schedules: schedules, DefaultSchedule: cfg.Schedule.Poll,
		RuntimeMinGap: cfg.PollInterval("") / 2, Check: feedChecker(cfg)}
	if sched == nil {
		// A nil *Scheduler in the interface would not be nil.
		return subscribe.New(mcfg, st, w, nil, log)
	}
	return subscribe.New(mcfg, st, w, sched, log)
}

// feedChecker is `seedcast check` on a URL, through the feeds' SSRF-guarded client.
func feedChecker(cfg *config.Config) subscribe.Checker {
	client := clients(cfg).Feed
	return func(ctx context.Context, feedURL string) (feedcheck.Report, error) {
		return feedcheck.Check(ctx, feedcheck.Options{Client: client, MaxBytes: cfg.Fetch.MaxFeedBytes, MaxItems: cfg.Fetch.MaxItems}, feedURL)
	}
}

// serveAdmin registers /admin and /api/v1 on mux; live and events may be nil (tests).
func serveAdmin(cfg *config.Config, mux *http.ServeMux, st store.Store, m *subscribe.Manager, trk *tracker.Tracker,
	live admin.Live, events *admin.Events, log *slog.Logger) *admin.Handler {
	hash, ok := cfg.Admin.TokenHash()
	acfg := admin.Config{TokenHash: hash, HasToken: ok, Secure: strings.HasPrefix(cfg.HTTP.PublicURL, "https:"),
		ClientIP: func(r *http.Request) netip.Addr { a, _ := trk.ClientAddr(r); return a }, Live: live, Events: events}
	ah := admin.New(acfg, st, adminManager{m}, log)
	ah.Routes(mux)
	return ah
}

// adminManager is the manager in the vocabulary of the admin pages, which import only the store.
type adminManager struct{ *subscribe.Manager }

func (a adminManager) Add(ctx context.Context, feedURL, slug string, consent bool) (store.Feed, admin.Findings, error) {
	f, rep, err := a.Manager.Add(ctx, feedURL, slug, consent)
	return f, findings(rep), adminErr(err)
}

func (a adminManager) Check(ctx context.Context, feedURL string) (admin.Findings, error) {
	rep, err := a.Manager.Check(ctx, feedURL)
	return findings(rep), adminErr(err)
}

func findings(rep feedcheck.Report) admin.Findings {
	enclosures := 0
	for _, it := range rep.Items {
		enclosures += len(it.Enclosures)
	}
	return admin.Findings{Title: rep.Title, Items: len(rep.Items), Enclosures: enclosures, Problems: rep.Problems,
		Refused: rep.Refused, Refusal: rep.Refusal, Locked: rep.Locked}
}

func (a adminManager) SetPaused(ctx context.Context, slug string, paused bool) error {
	return adminErr(a.Manager.SetPaused(ctx, slug, paused))
}

func (a adminManager) PollNow(ctx context.Context, slug string) error {
	return adminErr(a.Manager.PollNow(ctx, slug))
}

func (a adminManager) Retry(ctx context.Context, slug, key string) error {
	return adminErr(a.Manager.Retry(ctx, slug, key))
}

// maxBytes is each config feed's max_bytes, for the dashboard's disk figures.
func maxBytes(cfg *config.Config) map[string]int64 {
	out := map[string]int64{}
	for _, f := range cfg.Feeds {
		out[f.Slug] = f.MaxBytes
	}
	return out
}

func (a adminManager) Remove(ctx context.Context, slug string, deleteMedia bool) error {
	return adminErr(a.Manager.Remove(ctx, slug, deleteMedia))
}

// kindErr keeps err's message and adds kind to what it wraps.
type kindErr struct{ err, kind error }

func (e kindErr) Error() string   { return e.err.Error() }
func (e kindErr) Unwrap() []error { return []error{e.kind, e.err} }

func adminErr(err error) error {
	for _, m := range []struct{ from, to error }{
		{subscribe.ErrInvalid, admin.ErrInvalid}, {subscribe.ErrRefused, admin.ErrRefused}, {subscribe.ErrPaused, admin.ErrPaused},
		{subscribe.ErrUnreachable, admin.ErrUnreachable},
	} {
		if errors.Is(err, m.from) {
			return kindErr{err, m.to}
		}
	}
	return err
}

// late is a mux whose routes are registered after the server started serving.
type late struct {
	mux   *http.ServeMux
	ready chan struct{}
}

// lateStartWait bounds how long a request waits for the gateway to finish starting.
const lateStartWait = time.Minute

// lateRoutes sends the given patterns of mux to a mux filled later; requests wait until open
// (503 after wait).
func lateRoutes(mux *http.ServeMux, wait time.Duration, patterns ...string) *late {
	l := &late{mux: http.NewServeMux(), ready: make(chan struct{})}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-l.ready:
			l.mux.ServeHTTP(w, r)
			return
		default:
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-l.ready:
			l.mux.ServeHTTP(w, r)
		case <-t.C:
			w.Header().Set("Retry-After", "10")
			http.Error(w, "the gateway is starting: try again shortly", http.StatusServiceUnavailable)
		case <-r.Context().Done():
		}
	})
	for _, p := range patterns {
		mux.Handle(p, h)
	}
	return l
}

func (l *late) open() { close(l.ready) }
