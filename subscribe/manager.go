// Package subscribe keeps the gateway's polls in step with its feeds: config.yaml's, pinned, and
// those added at run time (dashboard, API, CLI, verified submissions), which live in the store so
// every node sees them. It is the one place feeds are added, paused, polled now and removed.
package subscribe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seedcast/seedcast/feedcheck"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/worker"
)

// Store is what the manager reads and writes.
type Store interface {
	Feeds(ctx context.Context) ([]store.Feed, error)
	Feed(ctx context.Context, slug string) (store.Feed, error)
	EnsureFeed(ctx context.Context, slug, url string) error
	Episode(ctx context.Context, slug, key string) (store.Episode, error)
	AddFeed(ctx context.Context, slug, url string, ownerConsent bool, at time.Time) error
	SetPaused(ctx context.Context, slug string, paused bool) error
	RemoveFeed(ctx context.Context, slug string) error
}

// Worker polls and unsubscribes feeds.
type Worker interface {
	Poll(ctx context.Context, f worker.Feed) error
	Unsubscribe(ctx context.Context, st worker.Unsubscriber, slug string, deleteMedia bool) error
}

// Scheduler runs the polls.
type Scheduler interface {
	Add(j worker.Job) error
	Remove(name string) bool
	RunNow(name string) bool
	Has(name string) bool
	Next(name string) time.Time
}

// Checker is `seedcast check` for a URL: what the gateway would publish, or why it would not.
type Checker func(ctx context.Context, feedURL string) (feedcheck.Report, error)

// Config is what the manager is told of config.yaml.
type Config struct {
	Pinned []worker.Feed
	// Schedules are the pinned feeds' own cron specs, by slug; the rest use DefaultSchedule.
	Schedules       map[string]string
	DefaultSchedule string
	// RuntimeMinGap is worker.Feed.MinGap for feeds added at run time (half the default interval).
	RuntimeMinGap time.Duration
	Check         Checker
	Now           func() time.Time // nil: time.Now
}

// Errors the manager's callers tell apart (all wrapped with what was wrong).
var (
	ErrInvalid = errors.New("invalid input")
	ErrRefused = errors.New("the gateway would refuse this feed")
	ErrPaused  = errors.New("feed is paused")
	// ErrUnreachable: the check could not fetch the feed (network, status, size), so nothing was
	// added; the message says why, as the poll's error would.
	ErrUnreachable = errors.New("the feed could not be fetched")
)

// RefusedError is ErrRefused with the check's findings, so a page can show them.
type RefusedError struct{ Report feedcheck.Report }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: %s", ErrRefused, e.Report.Refusal)
}
func (e *RefusedError) Unwrap() error { return ErrRefused }

// Manager schedules every feed's polls and changes the set of feeds.
type Manager struct {
	cfg   Config
	st    Store
	w     Worker
	sched Scheduler
	log   *slog.Logger

	mu      sync.Mutex
	runtime map[string]worker.Feed // scheduled run-time feeds, by slug
}

// New returns a manager; Start schedules the feeds. With a nil sched (the CLI) nothing is
// scheduled or polled here: the serving nodes pick changes up at their next Sync.
func New(cfg Config, st Store, w Worker, sched Scheduler, log *slog.Logger) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{cfg: cfg, st: st, w: w, sched: sched, log: log, runtime: make(map[string]worker.Feed)}
}

// JobName is the scheduler's name for a feed's poll job.
func JobName(slug string) string { return "poll " + slug }

// Start schedules the pinned feeds and those the store holds, each polled at once.
func (m *Manager) Start(ctx context.Context) error {
	for _, f := range m.cfg.Pinned {
		// Listed (and pinned) from the start, not only after a first poll.
		if err := m.st.EnsureFeed(ctx, f.Slug, f.URL); err != nil {
			return fmt.Errorf("feed %s: %w", f.Slug, err)
		}
		if err := m.schedule(f, m.spec(f.Slug)); err != nil {
			return err
		}
	}
	return m.Sync(ctx)
}

func (m *Manager) spec(slug string) string {
	if s := m.cfg.Schedules[slug]; s != "" {
		return s
	}
	return m.cfg.DefaultSchedule
}

func (m *Manager) schedule(f worker.Feed, spec string) error {
	if m.sched == nil {
		return nil
	}
	asked := f
	asked.MinGap = 0 // told of a change (a hub, an operator): poll even if another node did a moment ago
	return m.sched.Add(worker.Job{Name: JobName(f.Slug), Spec: spec, RunAtStart: true,
		Run:   func(ctx context.Context) error { return m.w.Poll(ctx, f) },
		Asked: func(ctx context.Context) error { return m.w.Poll(ctx, asked) }})
}

func (m *Manager) pinned(slug string) bool {
	return slices.ContainsFunc(m.cfg.Pinned, func(f worker.Feed) bool { return f.Slug == slug })
}

// Sync schedules run-time feeds another node (or the CLI) added and drops those removed; the
// gateway runs it every few seconds.
func (m *Manager) Sync(ctx context.Context) error {
	if m.sched == nil {
		return nil
	}
	all, err := m.st.Feeds(ctx)
	if err != nil {
		return fmt.Errorf("sync feeds: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[string]store.Feed{}
	for _, f := range all {
		if f.Origin == store.OriginRuntime && !m.pinned(f.Slug) {
			want[f.Slug] = f
		}
	}
	for slug, f := range m.runtime {
		if sf, ok := want[slug]; !ok || sf.URL != f.URL || sf.OwnerConsent != f.OwnerConsent {
			m.sched.Remove(JobName(slug))
			delete(m.runtime, slug)
		}
	}
	var errs []error
	for slug, sf := range want {
		if _, ok := m.runtime[slug]; ok {
			continue
		}
		f := m.workerFeed(sf)
		if err := m.schedule(f, m.cfg.DefaultSchedule); err != nil {
			errs = append(errs, err)
			continue
		}
		m.runtime[slug] = f
		m.log.Info("feed scheduled", "feed", slug, "url", safehttp.RedactURL(sf.URL))
	}
	return errors.Join(errs...)
}

func (m *Manager) workerFeed(sf store.Feed) worker.Feed {
	return worker.Feed{Slug: sf.Slug, URL: sf.URL, OwnerConsent: sf.OwnerConsent, Runtime: true,
		MinGap: m.cfg.RuntimeMinGap}
}

// AllFeeds lists every feed the gateway polls, pinned and run-time, from the store, whether or
// not it is scheduled yet (at start, before any poll: what partial downloads may belong to).
func (m *Manager) AllFeeds(ctx context.Context) ([]worker.Feed, error) {
	all, err := m.st.Feeds(ctx)
	if err != nil {
		return nil, fmt.Errorf("feeds: %w", err)
	}
	out := slices.Clone(m.cfg.Pinned)
	for _, f := range all {
		if f.Origin == store.OriginRuntime && !m.pinned(f.Slug) {
			out = append(out, m.workerFeed(f))
		}
	}
	return out, nil
}

// Feeds lists every scheduled feed (pinned and run-time) as the worker polls them.
func (m *Manager) Feeds() []worker.Feed {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.cfg.Pinned)
	for _, f := range m.runtime {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b worker.Feed) int { return strings.Compare(a.Slug, b.Slug) })
	return out
}

// NextPoll is when the feed's next scheduled poll is (zero when it has none).
func (m *Manager) NextPoll(slug string) time.Time {
	if m.sched == nil {
		return time.Time{}
	}
	return m.sched.Next(JobName(slug))
}

// Pinned reports whether config.yaml lists slug.
func (m *Manager) Pinned(slug string) bool { return m.pinned(slug) }

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// maxFeedURL bounds a submitted URL: a real feed URL is far shorter.
const maxFeedURL = 2048

// Check is `seedcast check` on feedURL: what the gateway would publish (a *RefusedError with the
// findings when it would not); ErrUnreachable when the feed cannot be fetched at all.
func (m *Manager) Check(ctx context.Context, feedURL string) (feedcheck.Report, error) {
	u, err := url.Parse(feedURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(feedURL) > maxFeedURL {
		return feedcheck.Report{}, fmt.Errorf("%w: url %q is not an absolute http(s) URL of at most %d bytes",
			ErrInvalid, safehttp.RedactURL(truncate(feedURL, 200)), maxFeedURL)
	}
	rep, err := m.cfg.Check(ctx, feedURL)
	if err != nil {
		if ctx.Err() != nil {
			return rep, err
		}
		return feedcheck.Report{}, fmt.Errorf("%w: checking %s: %w", ErrUnreachable, safehttp.RedactURL(feedURL), err)
	}
	return rep, nil
}

// Add checks feedURL as `seedcast check` does and subscribes it under slug (made from the
// feed's title when empty). A feed the check refuses is a *RefusedError carrying the findings;
// a slug or URL already taken is store.ErrExists. The feed is polled at once.
func (m *Manager) Add(ctx context.Context, feedURL, slug string, ownerConsent bool) (store.Feed, feedcheck.Report, error) {
	if slug != "" && !slugRE.MatchString(slug) {
		return store.Feed{}, feedcheck.Report{}, fmt.Errorf("%w: slug %q must be 1-63 characters of a-z, 0-9 and -", ErrInvalid, truncate(slug, 80))
	}
	if slug != "" && m.pinned(slug) {
		return store.Feed{}, feedcheck.Report{}, fmt.Errorf("slug %q is in config.yaml: %w", slug, store.ErrExists)
	}
	rep, err := m.Check(ctx, feedURL)
	if err != nil {
		return store.Feed{}, rep, err
	}
	if rep.Refused && !(rep.Locked && ownerConsent) {
		return store.Feed{}, rep, &RefusedError{Report: rep}
	}
	if slug == "" {
		slug = Slugify(rep.Title)
	}
	if err := m.st.AddFeed(ctx, slug, feedURL, ownerConsent, m.cfg.Now()); err != nil {
		return store.Feed{}, rep, err
	}
	if err := m.Sync(ctx); err != nil {
		return store.Feed{}, rep, err
	}
	f, err := m.st.Feed(ctx, slug)
	if err != nil {
		return store.Feed{}, rep, err
	}
	m.log.Info("feed added", "feed", slug, "url", safehttp.RedactURL(feedURL))
	return f, rep, nil
}

// SetPaused pauses or resumes a feed (pinned ones too: the flag is in the store).
func (m *Manager) SetPaused(ctx context.Context, slug string, paused bool) error {
	if err := m.st.SetPaused(ctx, slug, paused); err != nil {
		return err
	}
	m.log.Info("feed paused", "feed", slug, "paused", paused)
	if !paused && m.sched != nil {
		m.sched.RunNow(JobName(slug))
	}
	return nil
}

// PollNow polls a feed at once (a poll already running is not doubled).
func (m *Manager) PollNow(ctx context.Context, slug string) error {
	f, err := m.st.Feed(ctx, slug)
	if err != nil {
		return err
	}
	if f.Paused {
		return fmt.Errorf("%s: %w", slug, ErrPaused)
	}
	if m.sched == nil {
		return fmt.Errorf("feed %q: polling now needs the running gateway (seedcast serve)", slug)
	}
	if !m.sched.Has(JobName(slug)) {
		// Added on another node a moment ago: schedule it here first.
		if err := m.Sync(ctx); err != nil {
			return err
		}
		if !m.sched.Has(JobName(slug)) {
			return fmt.Errorf("feed %q is not scheduled: %w", slug, store.ErrNotFound)
		}
	}
	m.sched.RunNow(JobName(slug)) // running already: it runs once more after
	return nil
}

// Retry downloads a failed episode again now: a poll retries every failed episode of its feed,
// so this is a poll now, refused for an episode that has not failed.
func (m *Manager) Retry(ctx context.Context, slug, key string) error {
	e, err := m.st.Episode(ctx, slug, key)
	if err != nil {
		return err
	}
	if e.State != store.StateFailed {
		return fmt.Errorf("%w: episode %q of %s is %s, not failed", ErrInvalid, truncate(key, 200), slug, e.State)
	}
	return m.PollNow(ctx, slug)
}

// Remove unsubscribes a run-time feed (store.ErrPinned for a config feed), deleting its media and
// .torrent files when deleteMedia is set.
func (m *Manager) Remove(ctx context.Context, slug string, deleteMedia bool) error {
	if m.pinned(slug) {
		return fmt.Errorf("feed %q: %w", slug, store.ErrPinned)
	}
	if _, err := m.st.Feed(ctx, slug); err != nil {
		return err
	}
	m.mu.Lock()
	if m.sched != nil {
		m.sched.Remove(JobName(slug))
	}
	delete(m.runtime, slug)
	m.mu.Unlock()
	return m.w.Unsubscribe(ctx, m.st, slug, deleteMedia)
}

// Slugify makes a slug of a podcast's title: lower-case letters and digits, runs of anything
// else as one "-", at most 63 characters; "podcast" when nothing is left.
func Slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 63 {
			break
		}
	}
	s := strings.TrimRight(truncate(b.String(), 63), "-")
	if s == "" {
		return "podcast"
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
