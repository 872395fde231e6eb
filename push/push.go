// Package push tells others of changes to the output feeds at once and hears of changes to
// the source feeds at once. Out: every change of a feed's output is announced to the WebSub
// hub the operator names (hub.mode=publish) and to Podping. In: a source feed that names a
// WebSub hub is subscribed to; the hub's signed notification polls the feed now instead of at
// its next scheduled poll. What nodes must agree on (subscriptions, their secrets and leases,
// the version last announced) is in the store, so any node can take a hub's callback.
package push

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/store"
)

// Store is what push keeps and reads.
type Store interface {
	FeedVersion(ctx context.Context, slug string) (int64, error)
	SaveSubscription(ctx context.Context, s store.Subscription) error
	Subscription(ctx context.Context, slug string) (store.Subscription, error)
	Subscriptions(ctx context.Context) ([]store.Subscription, error)
	DeleteSubscription(ctx context.Context, slug string) error
	ClaimSubscribe(ctx context.Context, slug string, now, since time.Time) (bool, error)
	ConfirmSubscription(ctx context.Context, slug, topic string, since, now, until time.Time) (bool, error)
	ClaimAnnouncement(ctx context.Context, slug string, version int64) (bool, error)
}

var _ Store = store.Store(nil)

// PollNow polls a feed now unless it is being polled (then once more right after); it reports
// whether it started a poll (worker.Scheduler.RunNow of the feed's job).
type PollNow func(slug string) bool

// Config says what to announce where, and how to subscribe.
type Config struct {
	PublicURL string // base of the output feeds' URLs and of the WebSub callback
	// Hub is the WebSub hub told of every output change (push.websub_hub); "" = none.
	Hub string
	// PodpingURL and PodpingToken: Podping.cloud's HTTP API (push.podping_url); "" = none.
	PodpingURL, PodpingToken string
	// Subscribe subscribes to the hubs source feeds name (push.subscribe).
	Subscribe bool
	UserAgent string
	// MaxBody bounds a notification's body (fetch.max_feed_bytes): a larger one is refused.
	MaxBody int64

	// The rest have defaults; tests shorten them.
	PollGap      time.Duration // least time between two notified polls of a feed; default 10s
	RenewEvery   time.Duration // how often leases are looked at; default 1m
	RetryAfter   time.Duration // an unanswered subscribe request is sent again after this; default 1h
	LeaseSeconds int           // the lease asked of hubs; default 10 days
	Timeout      time.Duration // one request to a hub or Podping; default 30s
}

// Pusher is the WebSub subscriber and the announcer of changes.
type Pusher struct {
	cfg     Config
	st      Store
	log     *slog.Logger
	source  *http.Client // SSRF-guarded: a source's hub is a stranger's URL
	own     *http.Client // the operator's hub and Podping
	pollNow PollNow
	now     func() time.Time

	announce  *queue[struct{}]
	subscribe *queue[source]

	mu    sync.Mutex
	seen  map[string]int64 // the feed version last announced or found announced, per feed
	gates map[string]*gate // notified polls per feed
}

// source is the hub and topic a source feed named at its last poll.
type source struct{ hub, topic string }

// New returns a Pusher. sourceClient fetches strangers' URLs (worker.Clients.Feed); pollNow
// starts a feed's poll.
func New(cfg Config, st Store, sourceClient *http.Client, pollNow PollNow, log *slog.Logger) *Pusher {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.PollGap <= 0 {
		cfg.PollGap = 10 * time.Second
	}
	if cfg.RenewEvery <= 0 {
		cfg.RenewEvery = time.Minute
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Hour
	}
	if cfg.LeaseSeconds <= 0 {
		cfg.LeaseSeconds = 10 * 24 * 3600
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 20 << 20
	}
	return &Pusher{cfg: cfg, st: st, log: log, source: sourceClient, own: &http.Client{Timeout: cfg.Timeout},
		pollNow: pollNow, now: time.Now,
		announce: newQueue[struct{}](maxQueued), subscribe: newQueue[source](maxQueued),
		seen: map[string]int64{}, gates: map[string]*gate{}}
}

// maxQueued bounds the feeds waiting for an announcement or a subscription: one entry per feed.
const maxQueued = 100_000

// Routes registers the WebSub callback, GET and POST /websub/{slug}.
func (p *Pusher) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /websub/{slug}", p.verify)
	mux.HandleFunc("POST /websub/{slug}", p.notified)
}

// Run announces changes, sends subscribe requests and renews leases until ctx ends.
func (p *Pusher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				slug, _, ok := p.announce.take(ctx)
				if !ok {
					return
				}
				p.announceChange(ctx, slug)
			}
		})
		wg.Go(func() {
			for {
				slug, src, ok := p.subscribe.take(ctx)
				if !ok {
					return
				}
				p.follow(ctx, slug, src)
			}
		})
	}
	if p.cfg.Subscribe {
		wg.Go(func() { p.renewLoop(ctx) })
	}
	wg.Wait()
}

// Changed is told that a feed's output may have changed (after a publish, at the end of a
// poll): it is announced if its version moved.
func (p *Pusher) Changed(slug string) {
	if p.cfg.Hub == "" && p.cfg.PodpingURL == "" {
		return
	}
	if !p.announce.put(slug, struct{}{}) {
		p.log.Warn("push: too many feeds waiting to be announced: change not announced", "feed", slug)
	}
}

// Source is told, after a poll parsed a source feed, of the WebSub hub it names and its topic
// (its self URL); hub "" = none.
func (p *Pusher) Source(slug, hub, topic string) {
	if !p.cfg.Subscribe {
		return
	}
	if !p.subscribe.put(slug, source{hub, topic}) {
		p.log.Warn("push: too many feeds waiting to subscribe", "feed", slug)
	}
}

// feedURLs are the URLs of every output flavour of a feed.
func (p *Pusher) feedURLs(slug string) []string {
	var out []string
	for _, fl := range publisher.Flavours {
		out = append(out, p.cfg.PublicURL+fl.Path(slug))
	}
	return out
}

// callbackURL is where a hub tells of the feed's changes.
func (p *Pusher) callbackURL(slug string) string {
	return p.cfg.PublicURL + "/websub/" + url.PathEscape(slug)
}

// queue holds at most one pending entry per key, the latest value: many puts for one feed
// before it is taken are one piece of work.
type queue[T any] struct {
	mu      sync.Mutex
	pending map[string]T
	order   []string
	max     int
	wake    chan struct{}
}

func newQueue[T any](max int) *queue[T] {
	return &queue[T]{pending: map[string]T{}, max: max, wake: make(chan struct{}, 1)}
}

// put queues key with v, replacing a pending value; false when the queue is full.
func (q *queue[T]) put(key string, v T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.pending[key]; !ok {
		if len(q.order) >= q.max {
			return false
		}
		q.order = append(q.order, key)
	}
	q.pending[key] = v
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// take waits for the oldest key; false once ctx ends.
func (q *queue[T]) take(ctx context.Context) (string, T, bool) {
	for {
		q.mu.Lock()
		if len(q.order) > 0 {
			key := q.order[0]
			q.order = q.order[1:]
			v := q.pending[key]
			delete(q.pending, key)
			if len(q.order) > 0 {
				select { // another taker may go on
				case q.wake <- struct{}{}:
				default:
				}
			}
			q.mu.Unlock()
			return key, v, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-ctx.Done():
			var zero T
			return "", zero, false
		}
	}
}
