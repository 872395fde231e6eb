package worker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
)

// testOrigin serves a feed (with ETag) and one media file, counting requests.
type testOrigin struct {
	srv       *httptest.Server
	mu        sync.Mutex
	feed      string
	etag      string
	mediaFail atomic.Bool
	feedGets  atomic.Int32
	feed304s  atomic.Int32
	mediaGets atomic.Int32
}

func newTestOrigin(t *testing.T) *testOrigin {
	o := &testOrigin{}
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		feed, etag := o.feed, o.etag
		o.mu.Unlock()
		o.feedGets.Add(1)
		if r.Header.Get("If-None-Match") == etag {
			o.feed304s.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		io.WriteString(w, feed)
	})
	mux.HandleFunc("/ep.mp3", func(w http.ResponseWriter, r *http.Request) {
		if o.mediaFail.Load() {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		o.mediaGets.Add(1)
		w.Write([]byte(strings.Repeat("audio", 100000)))
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *testOrigin) setFeed(items string, extra string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.feed = `<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>T</title>` +
		extra + items + `</channel></rss>`
	o.etag = fmt.Sprintf(`"%d"`, len(o.feed)+int(time.Now().UnixNano()%1000))
}

// openTestStore opens the SQLite store of data directory dir, closed when the test ends.
func openTestStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newTestWorker(t *testing.T) (*Worker, store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st := openTestStore(t, dir)
	c := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	w := New(Config{DataDir: dir, AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}}, CreatedBy: "test"},
		st, Clients{Feed: c, Media: c, MaxFeed: 1 << 20}, nil, nil, slog.New(slog.DiscardHandler))
	return w, st, dir
}

// An episode without a GUID is identified by its enclosure URL; when the
// URL gains tracking parameters it is still the same episode.
func TestNoDuplicateDownloadWhenURLGainsTracking(t *testing.T) {
	ctx := context.Background()
	o := newTestOrigin(t)
	w, st, _ := newTestWorker(t)
	f := Feed{Slug: "s", URL: o.srv.URL + "/feed.xml"}

	o.setFeed(fmt.Sprintf(`<item><title>One</title><enclosure url="%s/ep.mp3" length="500000" type="audio/mpeg"/></item>`, o.srv.URL), "")
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	o.setFeed(fmt.Sprintf(`<item><title>One</title><enclosure url="%s/ep.mp3?utm_source=rss&amp;utm_medium=x" length="500000" type="audio/mpeg"/></item>`, o.srv.URL), "")
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if n := o.mediaGets.Load(); n != 1 {
		t.Fatalf("media downloaded %d times, want 1", n)
	}
	pub, err := st.Published(ctx, "s")
	if err != nil || len(pub) != 1 {
		t.Fatalf("published = %v, %v; want one episode", pub, err)
	}
	if pub[0].TorrentSize == 0 || len(pub[0].InfoHash) != 40 || pub[0].MediaSize != 500000 {
		t.Fatalf("published episode = %+v", pub[0])
	}
}

// A 304 re-parses nothing and leaves the channel untouched.
func TestNotModifiedDoesNoFurtherWork(t *testing.T) {
	ctx := context.Background()
	o := newTestOrigin(t)
	w, st, _ := newTestWorker(t)
	f := Feed{Slug: "s", URL: o.srv.URL + "/feed.xml"}
	o.setFeed(fmt.Sprintf(`<item><guid>g1</guid><title>One</title><enclosure url="%s/ep.mp3" length="1" type="audio/mpeg"/></item>`, o.srv.URL), "")
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Feed(ctx, "s")
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	after, _ := st.Feed(ctx, "s")
	if o.feed304s.Load() != 1 {
		t.Fatalf("second poll got %d 304s, want 1 (conditional GET not sent?)", o.feed304s.Load())
	}
	if !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("a 304 changed the channel: updated %v -> %v", before.UpdatedAt, after.UpdatedAt)
	}
	if o.mediaGets.Load() != 1 {
		t.Fatalf("media fetched %d times, want 1", o.mediaGets.Load())
	}
}

// A failed download is recorded with its reason, nothing is published, and
// the next poll retries it.
func TestFailedDownloadIsRecordedAndRetried(t *testing.T) {
	ctx := context.Background()
	o := newTestOrigin(t)
	w, st, dir := newTestWorker(t)
	f := Feed{Slug: "s", URL: o.srv.URL + "/feed.xml"}
	o.setFeed(fmt.Sprintf(`<item><guid>g1</guid><title>One</title><enclosure url="%s/ep.mp3" length="1" type="audio/mpeg"/></item>`, o.srv.URL), "")
	o.mediaFail.Store(true)
	err := w.Poll(ctx, f)
	if err == nil || !strings.Contains(err.Error(), "feed s ("+f.URL+")") || !strings.Contains(err.Error(), "/ep.mp3") {
		t.Fatalf("error %v should name the feed, its URL and the enclosure URL", err)
	}
	ep, err := st.Episode(ctx, "s", "guid:g1")
	if err != nil || ep.State != store.StateFailed || !strings.Contains(ep.Error, "500") {
		t.Fatalf("episode = %+v, %v; want failed with the status", ep, err)
	}
	if pub, _ := st.Published(ctx, "s"); len(pub) != 0 {
		t.Fatalf("a failed download was published: %+v", pub)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "media", "s", "*")); len(left) != 0 {
		t.Fatalf("files left by a failed download: %v", left)
	}
	o.mediaFail.Store(false)
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if pub, _ := st.Published(ctx, "s"); len(pub) != 1 {
		t.Fatalf("retry did not publish: %+v", pub)
	}
}

func TestLockedFeedRefusedWithoutConsent(t *testing.T) {
	ctx := context.Background()
	o := newTestOrigin(t)
	w, st, _ := newTestWorker(t)
	o.setFeed(fmt.Sprintf(`<item><guid>g1</guid><title>One</title><enclosure url="%s/ep.mp3" length="1" type="audio/mpeg"/></item>`, o.srv.URL),
		`<podcast:locked owner="a@example.com">yes</podcast:locked>`)
	err := w.Poll(ctx, Feed{Slug: "s", URL: o.srv.URL + "/feed.xml"})
	if err == nil || !strings.Contains(err.Error(), "podcast:locked") || !strings.Contains(err.Error(), "owner_consent") {
		t.Fatalf("locked feed error = %v; want one explaining podcast:locked and owner_consent", err)
	}
	if o.mediaGets.Load() != 0 {
		t.Fatal("a locked feed's media was downloaded")
	}
	if err := w.Poll(ctx, Feed{Slug: "s", URL: o.srv.URL + "/feed.xml", OwnerConsent: true}); err != nil {
		t.Fatal(err)
	}
	if pub, _ := st.Published(ctx, "s"); len(pub) != 1 {
		t.Fatalf("with owner_consent the feed should publish, got %d", len(pub))
	}
}

func TestMediaName(t *testing.T) {
	cases := []struct{ key, url, typ string }{
		{"guid:1", "https://x/a/../../etc/passwd", "audio/mpeg"},
		{"guid:2", "https://x/..", "audio/mpeg"},
		{"guid:3", "https://x/CON", ""},
		{"guid:4", "https://x/" + strings.Repeat("a", 500) + ".mp3", ""},
		{"guid:5", "https://x/%2e%2e%2f%2e%2e%2fetc", ""},
		{"guid:6", "https://x/ep\x00isode.mp3", ""},
		{"guid:7", "https://x/épisode 1.mp3", ""},
		{"guid:8", "::not a url", "video/mp4"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		name := MediaName(c.key, c.url, c.typ)
		if strings.ContainsAny(name, `/\`+"\x00") || strings.Contains(name, "..") || len(name) > 100 || name == "" {
			t.Errorf("MediaName(%q) = %q: unsafe", c.url, name)
		}
		if filepath.Base(name) != name || !filepath.IsLocal(name) {
			t.Errorf("MediaName(%q) = %q is not a plain local file name", c.url, name)
		}
		if seen[name] {
			t.Errorf("MediaName(%q) = %q collides", c.url, name)
		}
		seen[name] = true
	}
	if a, b := MediaName("guid:a", "https://x/ep.mp3", ""), MediaName("guid:b", "https://x/ep.mp3", ""); a == b {
		t.Errorf("two episodes with the same file name share %q", a)
	}
}

func TestSchedulerRunsAtStartSkipsOverlapAndRecovers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewScheduler(ctx, slog.New(slog.DiscardHandler))
	var runs, running, maxRunning atomic.Int32
	release := make(chan struct{})
	err := s.Add(Job{Name: "j", Spec: "@every 1s", RunAtStart: true, Run: func(ctx context.Context) error {
		n := running.Add(1)
		defer running.Add(-1)
		if n > maxRunning.Load() {
			maxRunning.Store(n)
		}
		switch runs.Add(1) {
		case 1:
			// The first run outlasts several ticks: they must skip, not stack.
			select {
			case <-release:
			case <-ctx.Done():
			}
		case 2:
			panic("a bug in one run")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Job{Name: "bad", Spec: "every now and then"}); err == nil {
		t.Fatal("an invalid spec was accepted")
	}
	s.Start()
	defer s.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for runs.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if runs.Load() != 1 {
		t.Fatal("the job did not run at start")
	}
	// Hold the first run across at least two ticks, observed by cron's own
	// entry times rather than by sleeping a fixed amount.
	first := s.c.Entries()[0].Prev
	for (s.c.Entries()[0].Prev.Sub(first) < 2*time.Second || first.IsZero()) && time.Now().Before(deadline) {
		if first.IsZero() {
			first = s.c.Entries()[0].Prev
		}
		time.Sleep(10 * time.Millisecond)
	}
	if runs.Load() != 1 {
		t.Fatalf("ticks during a running job started %d runs, want it skipped", runs.Load()-1)
	}
	close(release)
	// After the panic (run 2) the job keeps being scheduled (run 3+).
	for runs.Load() < 3 && time.Now().Before(deadline.Add(10*time.Second)) {
		time.Sleep(10 * time.Millisecond)
	}
	if runs.Load() < 3 {
		t.Fatalf("job stopped after a panic: %d runs", runs.Load())
	}
	if maxRunning.Load() != 1 {
		t.Fatalf("job overlapped itself: %d at once", maxRunning.Load())
	}
}

// Many origins answer every poll with 200 and no validators. Re-reading the
// same feed must leave the output feed byte for byte the same (same ETag, so
// podcatchers get 304), and a real change must show.
func TestUnchangedFeedKeepsOutputETag(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	title := "One"
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
			<item><guid>g1</guid><title>%s</title><enclosure url="http://%s/ep.mp3" length="1" type="audio/mpeg"/></item>
			<item><guid>g2</guid><title>Notes only</title></item></channel></rss>`, title, r.Host)
	}))
	t.Cleanup(origin.Close)
	w, st, dir := newTestWorker(t)
	// Each poll an hour after the last, so a moved lastBuildDate would show.
	clock := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	w.now = func() time.Time { clock = clock.Add(time.Hour); return clock }
	f := Feed{Slug: "s", URL: origin.URL + "/feed.xml"}
	pub := publisher.New(publisher.Config{PublicURL: "http://gw.example", DataDir: dir}, st, slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	pub.Routes(mux)
	gw := httptest.NewServer(mux)
	t.Cleanup(gw.Close)
	etag := func(ifNoneMatch string) (string, int) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", gw.URL+"/feeds/s.rss", nil)
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("ETag"), resp.StatusCode
	}

	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	first, code := etag("")
	if code != 200 || first == "" {
		t.Fatalf("first GET: %d, ETag %q", code, first)
	}
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if again, code := etag(first); code != http.StatusNotModified {
		t.Fatalf("after an unchanged poll: %d with ETag %q, want 304 for %q", code, again, first)
	}

	mu.Lock()
	title = "One, renamed"
	mu.Unlock()
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if changed, code := etag(first); code != 200 || changed == first {
		t.Fatalf("after the origin renamed an episode: %d with ETag %q, want 200 and a new ETag", code, changed)
	}
}

// An episode the podcaster removes from the source leaves the output feed but
// keeps seeding; a feed served with no items at all is an error that changes
// nothing.
func TestRemovedAtSourceLeavesOutputFeed(t *testing.T) {
	ctx := context.Background()
	o := newTestOrigin(t)
	w, st, dir := newTestWorker(t)
	f := Feed{Slug: "s", URL: o.srv.URL + "/feed.xml"}
	mux := http.NewServeMux()
	publisher.New(publisher.Config{PublicURL: "http://gw.example", DataDir: dir}, st, slog.New(slog.DiscardHandler)).Routes(mux)
	gw := httptest.NewServer(mux)
	t.Cleanup(gw.Close)
	output := func() string {
		t.Helper()
		resp, err := http.Get(gw.URL + "/feeds/s.rss")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	item := func(title string) string {
		return fmt.Sprintf(`<item><guid>%s</guid><title>%s</title><enclosure url="%s/ep.mp3" length="500000" type="audio/mpeg"/></item>`,
			title, title, o.srv.URL)
	}

	o.setFeed(item("Keep me")+item("Take me down"), "")
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if out := output(); !strings.Contains(out, "Keep me") || !strings.Contains(out, "Take me down") {
		t.Fatalf("first poll: output lacks an episode:\n%s", out)
	}
	o.setFeed(item("Keep me"), "")
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if out := output(); !strings.Contains(out, "Keep me") || strings.Contains(out, "Take me down") {
		t.Fatalf("after the source removed an episode, output:\n%s", out)
	}
	ts, err := st.Torrents(ctx)
	if err != nil || len(ts) != 2 {
		t.Fatalf("torrents after the removal = %v, %v; want both still seeded", ts, err)
	}

	o.setFeed("", "")
	err = w.Poll(ctx, f)
	if err == nil || !strings.Contains(err.Error(), "lists no items") || !strings.Contains(err.Error(), f.URL) {
		t.Fatalf("an emptied feed: err = %v, want one naming the feed URL and saying it lists no items", err)
	}
	if out := output(); !strings.Contains(out, "Keep me") {
		t.Fatalf("an emptied source feed emptied the output:\n%s", out)
	}
	if fs, _ := st.Feed(ctx, "s"); !strings.Contains(fs.LastError, "lists no items") {
		t.Fatalf("feed status error = %q", fs.LastError)
	}
}

// A podcast that moved (itunes:new-feed-url) is still polled where configured,
// and the operator is told where it went.
func TestMovedFeedIsReported(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
			<title>T</title><itunes:new-feed-url>https://new.example/feed.xml</itunes:new-feed-url>
			<item><guid>g1</guid><title>Notes only</title></item></channel></rss>`)
	}))
	t.Cleanup(origin.Close)
	w, st, _ := newTestWorker(t)
	var logs bytes.Buffer
	w.log = slog.New(slog.NewTextHandler(&logs, nil))
	if err := w.Poll(context.Background(), Feed{Slug: "s", URL: origin.URL + "/feed.xml"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "new_url=https://new.example/feed.xml") || !strings.Contains(logs.String(), "feeds[].url") {
		t.Fatalf("no warning naming the new URL and the config key:\n%s", logs.String())
	}
	if pub, err := st.Listed(context.Background(), "s"); err != nil || len(pub) != 1 {
		t.Fatalf("the moved feed was not republished: %v, %v", pub, err)
	}
}
