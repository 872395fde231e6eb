package subscribe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcast/seedcast/feedcheck"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/worker"
)

type origin struct {
	srv   *httptest.Server
	gets  atomic.Int32
	media atomic.Int32
}

func newOrigin(t *testing.T, locked bool) *origin {
	o := &origin{}
	lock := ""
	if locked {
		lock = `<podcast:locked>yes</podcast:locked>`
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		o.gets.Add(1)
		fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>Garage Band Radio!</title>%s<item><guid>g1</guid><title>One</title>
<enclosure url="%s/ep.mp3" length="5000" type="audio/mpeg"/></item></channel></rss>`, lock, o.srv.URL)
	})
	mux.HandleFunc("/ep.mp3", func(w http.ResponseWriter, r *http.Request) {
		o.media.Add(1)
		io.WriteString(w, strings.Repeat("a", 5000))
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

type env struct {
	m     *Manager
	st    store.Store
	sched *worker.Scheduler
}

func newEnv(t *testing.T, pinned ...worker.Feed) env {
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	log := slog.New(slog.DiscardHandler)
	w := worker.New(worker.Config{DataDir: dir, AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}}},
		st, worker.Clients{Feed: c, Media: c, MaxFeed: 1 << 20}, nil, nil, log)
	ctx, cancel := context.WithCancel(context.Background())
	sched := worker.NewScheduler(ctx, log)
	t.Cleanup(func() { cancel(); sched.Stop() })
	check := func(ctx context.Context, u string) (feedcheck.Report, error) {
		return feedcheck.Check(ctx, feedcheck.Options{Client: c, MaxBytes: 1 << 20, MaxItems: 100}, u)
	}
	m := New(Config{Pinned: pinned, DefaultSchedule: "@every 1h", Check: check}, st, w, sched, log)
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	sched.Start()
	return env{m: m, st: st, sched: sched}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func published(t *testing.T, st store.Store, slug string) func() bool {
	return func() bool { p, _ := st.Published(context.Background(), slug); return len(p) == 1 }
}

func TestAddPollsAtOnceAndPauseRemove(t *testing.T) {
	ctx := t.Context()
	o := newOrigin(t, false)
	e := newEnv(t)
	f, rep, err := e.m.Add(ctx, o.srv.URL+"/feed.xml", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if f.Slug != "garage-band-radio" || f.Origin != store.OriginRuntime || rep.Title != "Garage Band Radio!" || len(rep.Items) != 1 {
		t.Fatalf("added %+v, report %+v", f, rep)
	}
	waitFor(t, "the new feed's episode to publish", published(t, e.st, f.Slug))
	if next := e.m.NextPoll(f.Slug); next.IsZero() {
		t.Fatal("no next poll scheduled")
	}
	if got := e.m.Feeds(); len(got) != 1 || !got[0].Runtime {
		t.Fatalf("feeds %+v", got)
	}

	// Taken slug or URL.
	if _, _, err := e.m.Add(ctx, o.srv.URL+"/feed.xml", "other", false); !errors.Is(err, store.ErrExists) {
		t.Fatalf("same URL again: %v", err)
	}
	// Bad input, named.
	for _, c := range []struct{ url, slug, want string }{
		{"ftp://x/feed", "", "url"},
		{"/feed.xml", "", "url"},
		{o.srv.URL + "/feed.xml", "Bad Slug", "slug"},
		{"http://x/" + strings.Repeat("a", 3000), "", "url"},
	} {
		if _, _, err := e.m.Add(ctx, c.url, c.slug, false); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("Add(%.40q, %q) = %v, want ErrInvalid naming %s", c.url, c.slug, err, c.want)
		}
	}

	// A feed the check cannot fetch is not added, and says so.
	if _, _, err := e.m.Add(ctx, o.srv.URL+"/nothing-here.xml", "gone", false); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Add of a URL answering 404 = %v, want ErrUnreachable with the status", err)
	}
	if _, err := e.st.Feed(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the unreachable feed was stored: %v", err)
	}

	if err := e.m.SetPaused(ctx, f.Slug, true); err != nil {
		t.Fatal(err)
	}
	if err := e.m.PollNow(ctx, f.Slug); !errors.Is(err, ErrPaused) {
		t.Fatalf("poll of a paused feed: %v", err)
	}
	if err := e.m.SetPaused(ctx, f.Slug, false); err != nil {
		t.Fatal(err)
	}
	before := o.gets.Load()
	if err := e.m.PollNow(ctx, f.Slug); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a poll now", func() bool { return o.gets.Load() > before })

	if err := e.m.Remove(ctx, f.Slug, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.Feed(ctx, f.Slug); !errors.Is(err, store.ErrNotFound) || len(e.m.Feeds()) != 0 || e.sched.Has(JobName(f.Slug)) {
		t.Fatalf("after remove: %v, feeds %v", err, e.m.Feeds())
	}
	if err := e.m.PollNow(ctx, f.Slug); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("poll of a removed feed: %v", err)
	}
}

func TestLockedNeedsConsentAndPinnedStays(t *testing.T) {
	ctx := t.Context()
	o := newOrigin(t, true)
	pin := newOrigin(t, false)
	e := newEnv(t, worker.Feed{Slug: "pinned", URL: pin.srv.URL + "/feed.xml"})
	waitFor(t, "the pinned feed to publish", published(t, e.st, "pinned"))

	_, rep, err := e.m.Add(ctx, o.srv.URL+"/feed.xml", "locked", false)
	var refused *RefusedError
	if !errors.As(err, &refused) || !rep.Locked || !strings.Contains(err.Error(), "lock") {
		t.Fatalf("locked feed without consent: %v (%+v)", err, rep)
	}
	if _, err := e.st.Feed(ctx, "locked"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused feed was half-added: %v", err)
	}
	if _, _, err := e.m.Add(ctx, o.srv.URL+"/feed.xml", "locked", true); err != nil {
		t.Fatalf("locked feed with the owner's consent: %v", err)
	}
	waitFor(t, "the consented feed to publish", published(t, e.st, "locked"))

	if _, _, err := e.m.Add(ctx, o.srv.URL+"/other.xml", "pinned", false); !errors.Is(err, store.ErrExists) {
		t.Fatalf("adding a pinned slug: %v", err)
	}
	if err := e.m.Remove(ctx, "pinned", false); !errors.Is(err, store.ErrPinned) {
		t.Fatalf("removing a pinned feed: %v", err)
	}
	if !e.m.Pinned("pinned") || e.m.Pinned("locked") {
		t.Fatal("Pinned wrong")
	}
}

// A feed another node added is scheduled here at the next Sync, and one it removed is dropped.
func TestSyncSeesOtherNodes(t *testing.T) {
	ctx := t.Context()
	o := newOrigin(t, false)
	e := newEnv(t)
	if err := e.st.AddFeed(ctx, "elsewhere", o.srv.URL+"/feed.xml", false, time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other node's feed to publish here", published(t, e.st, "elsewhere"))
	if err := e.st.RemoveFeed(ctx, "elsewhere"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if e.sched.Has(JobName("elsewhere")) || len(e.m.Feeds()) != 0 {
		t.Fatal("a removed feed is still scheduled")
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Garage Band Radio!":      "garage-band-radio",
		"  ---  ":                 "podcast",
		"Ünïcode Shöw 2":          "n-code-sh-w-2",
		strings.Repeat("ab ", 40): strings.TrimRight(strings.Repeat("ab-", 21), "-"),
	} {
		if got := Slugify(in); got != want || !slugRE.MatchString(got) {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

// Without a scheduler (the CLI) a feed is added to the store only, and AllFeeds lists it with
// the pinned ones.
func TestWithoutSchedulerAddsToStoreOnly(t *testing.T) {
	ctx := t.Context()
	o := newOrigin(t, false)
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	w := worker.New(worker.Config{DataDir: dir}, st, worker.Clients{Feed: c, Media: c, MaxFeed: 1 << 20}, nil, nil, slog.New(slog.DiscardHandler))
	check := func(ctx context.Context, u string) (feedcheck.Report, error) {
		return feedcheck.Check(ctx, feedcheck.Options{Client: c}, u)
	}
	m := New(Config{Pinned: []worker.Feed{{Slug: "pinned", URL: "http://example.com/p.xml"}}, Check: check}, st, w, nil, nil)
	if _, _, err := m.Add(ctx, o.srv.URL+"/feed.xml", "cli", false); err != nil {
		t.Fatal(err)
	}
	if o.media.Load() != 0 {
		t.Fatal("the CLI downloaded media")
	}
	all, err := m.AllFeeds(ctx)
	if err != nil || len(all) != 2 || all[0].Slug != "pinned" || all[1].Slug != "cli" || !all[1].Runtime {
		t.Fatalf("AllFeeds = %+v, %v", all, err)
	}
	if err := m.PollNow(ctx, "cli"); err == nil || !strings.Contains(err.Error(), "seedcast serve") {
		t.Fatalf("PollNow without a scheduler: %v", err)
	}
	if err := m.Remove(ctx, "cli", false); err != nil {
		t.Fatal(err)
	}
}
