package push

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/worker"
)

// env is a real SQLite store with one feed, a real scheduler whose poll job counts its runs,
// and the Pusher's callback served over HTTP.
type env struct {
	st       store.Store
	p        *Pusher
	srv      *httptest.Server // the gateway: the callback
	asked    atomic.Int32     // PollNow calls
	polls    atomic.Int32     // runs of the poll job
	cancel   context.CancelFunc
	runsDone chan struct{}
}

func newEnv(t *testing.T, cfg Config, private bool) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureFeed(ctx, "show", "http://origin.example/feed.xml"); err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, cancel: cancel, runsDone: make(chan struct{})}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	sched := worker.NewScheduler(ctx, log)
	if err := sched.Add(worker.Job{Name: "poll show", Spec: "@every 1h", Run: func(context.Context) error {
		e.polls.Add(1)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	cfg.PublicURL = e.srv.URL
	client := safehttp.NewClient(safehttp.Options{AllowPrivate: private, Timeout: 5 * time.Second})
	e.p = New(cfg, st, client, func(slug string) bool {
		e.asked.Add(1)
		return sched.RunNow("poll " + slug)
	}, log)
	e.p.Routes(mux)
	go func() { e.p.Run(ctx); close(e.runsDone) }()
	t.Cleanup(func() {
		cancel()
		<-e.runsDone
		sched.Stop()
		e.srv.Close()
		st.Close()
	})
	return e
}

// hub is a small WebSub hub: it takes subscribe requests, verifies the subscriber's intent
// with a challenge (granting lease seconds) and keeps what it verified.
type hub struct {
	srv   *httptest.Server
	lease int
	mu    sync.Mutex
	reqs  []url.Values // every subscribe request
	ok    map[string]url.Values
}

func newHub(t *testing.T, lease int) *hub {
	h := &hub{lease: lease, ok: map[string]url.Values{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("hub.mode") != "subscribe" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f := r.PostForm
		h.mu.Lock()
		h.reqs = append(h.reqs, f)
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		go h.verify(f)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hub) verify(f url.Values) {
	challenge := fmt.Sprintf("c-%d", time.Now().UnixNano())
	q := url.Values{"hub.mode": {"subscribe"}, "hub.topic": {f.Get("hub.topic")}, "hub.challenge": {challenge},
		"hub.lease_seconds": {fmt.Sprint(h.lease)}}
	resp, err := http.Get(f.Get("hub.callback") + "?" + q.Encode())
	if err != nil {
		return // the subscriber is gone (a test that ended); the tests wait on verified()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && string(body) == challenge {
		h.mu.Lock()
		h.ok[f.Get("hub.callback")] = f
		h.mu.Unlock()
	}
}

func (h *hub) requests() []url.Values {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]url.Values(nil), h.reqs...)
}

func (h *hub) verified(callback string) (url.Values, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.ok[callback]
	return f, ok
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func post(t *testing.T, u, sigHeader, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if sigHeader != "" {
		req.Header.Set("X-Hub-Signature", sigHeader)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func get(t *testing.T, u string, q url.Values) (int, string) {
	t.Helper()
	resp, err := http.Get(u + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func sign(secret, body string, sha256sum bool) string {
	if sha256sum {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(body))
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// A source's hub is subscribed to with a secret; the hub's verification is answered only for
// the topic asked; a notification polls the feed only when signed with that secret, within the
// body cap; a burst within the poll gap makes one more poll, at the end of the gap.
func TestSubscribeVerifyNotify(t *testing.T) {
	h := newHub(t, 3600)
	e := newEnv(t, Config{Subscribe: true, MaxBody: 1000, PollGap: 300 * time.Millisecond}, true)
	const topic = "http://origin.example/feed.xml?self"
	callback := e.srv.URL + "/websub/show"
	e.p.Source("show", h.srv.URL+"/hub", topic)
	waitFor(t, "the verified subscription", func() bool { _, ok := h.verified(callback); return ok })
	f, _ := h.verified(callback)
	secret := f.Get("hub.secret")
	if f.Get("hub.topic") != topic || len(secret) < 32 || f.Get("hub.lease_seconds") != "864000" {
		t.Fatalf("subscribe request = %v", f)
	}
	sub, err := e.st.Subscription(context.Background(), "show")
	if err != nil || sub.Secret != secret || sub.LeaseUntil.Sub(sub.VerifiedAt) != time.Hour {
		t.Fatalf("stored subscription = %+v, %v; want the hub's one-hour lease", sub, err)
	}

	// Intent verification for what was not asked is refused.
	for _, q := range []url.Values{
		{"hub.mode": {"subscribe"}, "hub.topic": {"http://evil.example/"}, "hub.challenge": {"x"}},
		{"hub.mode": {"unsubscribe"}, "hub.topic": {topic}, "hub.challenge": {"x"}},
	} {
		if code, body := get(t, callback, q); code != 404 || body == "x" {
			t.Errorf("verification %v = %d %q, want 404", q, code, body)
		}
	}
	if code, _ := get(t, e.srv.URL+"/websub/other", url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.challenge": {"x"}}); code != 404 {
		t.Errorf("verification for another feed = %d, want 404", code)
	}

	body := `<rss><channel><title>new</title></channel></rss>`
	for _, sig := range []string{"", "sha256=" + strings.Repeat("00", 32), sign("wrong secret", body, true), "md5=abcd"} {
		if code := post(t, callback, sig, body); code/100 != 2 {
			t.Errorf("notification signed %q = %d, want 2xx (ignored, as WebSub requires)", sig, code)
		}
	}
	if n := e.asked.Load(); n != 0 {
		t.Fatalf("unsigned or mis-signed notifications asked for %d polls", n)
	}
	big := strings.Repeat("x", 1001)
	if code := post(t, callback, sign(secret, big, true), big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the cap = %d, want 413", code)
	}
	if code := post(t, e.srv.URL+"/websub/other", sign(secret, body, true), body); code != http.StatusGone {
		t.Errorf("a notification for a feed without a subscription = %d, want 410", code)
	}
	if n := e.asked.Load(); n != 0 {
		t.Fatalf("refused notifications asked for %d polls", n)
	}

	if code := post(t, callback, sign(secret, body, false), body); code != http.StatusAccepted {
		t.Fatalf("signed notification (sha1) = %d", code)
	}
	if n := e.asked.Load(); n != 1 {
		t.Fatalf("a signed notification asked for %d polls, want 1", n)
	}
	waitFor(t, "the notified poll", func() bool { return e.polls.Load() == 1 })
	for range 5 {
		post(t, callback, sign(secret, body, true), body)
	}
	if n := e.asked.Load(); n != 1 {
		t.Fatalf("a burst within the poll gap asked for %d polls at once, want none before the gap ends", n-1)
	}
	waitFor(t, "the poll at the end of the gap", func() bool { return e.polls.Load() == 2 })
	if n := e.asked.Load(); n != 2 {
		t.Fatalf("a burst of 5 made %d polls, want 1", n-1)
	}
}

// A lease is renewed in its last tenth; a source naming another hub gets a new subscription
// and secret; one naming no hub forgets it.
func TestRenewAndFollow(t *testing.T) {
	h := newHub(t, 2) // a two-second lease: renewed after 1.8 s
	e := newEnv(t, Config{Subscribe: true, RenewEvery: 50 * time.Millisecond}, true)
	e.p.Source("show", h.srv.URL, "http://origin.example/feed.xml")
	waitFor(t, "a renewal", func() bool { return len(h.requests()) >= 2 })
	reqs := h.requests()
	if reqs[0].Get("hub.secret") != reqs[1].Get("hub.secret") {
		t.Error("a renewal changed the secret")
	}
	h2 := newHub(t, 3600)
	e.p.Source("show", h2.srv.URL, "http://origin.example/feed.xml")
	waitFor(t, "the new hub's subscription", func() bool { _, ok := h2.verified(e.srv.URL + "/websub/show"); return ok })
	if f, _ := h2.verified(e.srv.URL + "/websub/show"); f.Get("hub.secret") == reqs[0].Get("hub.secret") {
		t.Error("a new hub was given the old hub's secret")
	}
	e.p.Source("show", "", "")
	waitFor(t, "the subscription forgotten", func() bool {
		_, err := e.st.Subscription(context.Background(), "show")
		return err != nil
	})
}

// The hub named by a source is a stranger's: the SSRF guard keeps a subscribe request from
// reaching a loopback hub unless private networks are allowed.
func TestSubscribeGuarded(t *testing.T) {
	for _, private := range []bool{false, true} {
		h := newHub(t, 3600)
		e := newEnv(t, Config{Subscribe: true}, private)
		// follow runs the request before it returns (Source would queue it for Run).
		e.p.follow(context.Background(), "show", source{h.srv.URL, "http://origin.example/feed.xml"})
		want := 0
		if private {
			want = 1
		}
		if n := len(h.requests()); n != want {
			t.Fatalf("allow private networks %v: the hub on loopback got %d requests, want %d", private, n, want)
		}
	}
}

// endpoint records the requests of an operator's hub or of Podping.
type endpoint struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []*http.Request
	form []url.Values
}

func newEndpoint(t *testing.T) *endpoint {
	ep := &endpoint{}
	ep.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		ep.mu.Lock()
		ep.seen = append(ep.seen, r)
		ep.form = append(ep.form, r.Form)
		ep.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(ep.srv.Close)
	return ep
}

func (ep *endpoint) count() int {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return len(ep.seen)
}

// Each output change is announced once, for every flavour, to the hub (hub.mode=publish) and
// to Podping (GET ?url= with the token), whichever node sees it first; a call that finds the
// version announced sends nothing.
func TestAnnounce(t *testing.T) {
	hubEP, pp := newEndpoint(t), newEndpoint(t)
	cfg := Config{Hub: hubEP.srv.URL + "/publish", PodpingURL: pp.srv.URL + "/", PodpingToken: "tok-123"}
	e := newEnv(t, cfg, true)
	ctx := context.Background()
	e.p.Changed("show")
	waitFor(t, "the first announcement", func() bool { return hubEP.count() == 4 && pp.count() == 4 })
	want := map[string]bool{}
	for _, u := range e.p.feedURLs("show") {
		want[u] = true
	}
	for i, f := range hubEP.form {
		if hubEP.seen[i].Method != http.MethodPost || f.Get("hub.mode") != "publish" || !want[f.Get("hub.url")] {
			t.Errorf("hub request %s %v", hubEP.seen[i].Method, f)
		}
	}
	for i, r := range pp.seen {
		q := pp.form[i]
		if r.Method != http.MethodGet || r.Header.Get("Authorization") != "tok-123" || !want[q.Get("url")] ||
			q.Get("reason") != "update" || q.Get("medium") != "podcast" {
			t.Errorf("podping request %s %v %q", r.Method, q, r.Header.Get("Authorization"))
		}
	}
	// Another node (a second Pusher on the store) sees the same version: nothing is sent; then
	// a change, announced by it once.
	other := New(Config{PublicURL: e.srv.URL, Hub: cfg.Hub, PodpingURL: cfg.PodpingURL, PodpingToken: cfg.PodpingToken},
		e.st, http.DefaultClient, func(string) bool { return false }, slog.New(slog.DiscardHandler))
	octx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { other.Run(octx); close(done) }()
	defer func() { cancel(); <-done }()
	other.Changed("show")
	if err := e.st.SaveChannel(ctx, store.Feed{Slug: "show", URL: "http://origin.example/feed.xml", Title: "New title"}, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	other.Changed("show")
	e.p.Changed("show")
	waitFor(t, "the change announced", func() bool { return hubEP.count() >= 8 && pp.count() >= 8 })
	if err := e.st.SaveChannel(ctx, store.Feed{Slug: "show", URL: "http://origin.example/feed.xml", Title: "Newer"}, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.p.Changed("show")
	waitFor(t, "the next change announced", func() bool { return hubEP.count() >= 12 && pp.count() >= 12 })
	if hubEP.count() != 12 || pp.count() != 12 {
		t.Fatalf("three versions made %d hub and %d podping requests, want 12 each (once per version and flavour)", hubEP.count(), pp.count())
	}
}
