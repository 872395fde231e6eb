package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/livestats"
	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/tracker"
	"github.com/seedcast/seedcast/web/admin"
	"github.com/seedcast/seedcast/worker"
)

const testAdminToken = "correct-horse-battery-staple"

// adminOrigin serves a good feed, a malformed one, a flaky one and one whose episode stalls
// half way until the test ends.
func adminOrigin(t *testing.T) *httptest.Server {
	var srv *httptest.Server
	stall := make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/good.xml", "/pinned.xml":
			fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Good Show</title>
<item><guid>e1</guid><title>One</title><enclosure url="%s/e1.mp3" length="4" type="audio/mpeg"/></item></channel></rss>`, srv.URL)
		case "/slow.xml":
			fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Slow Show</title>
<item><guid>s1</guid><title>Slow One</title><enclosure url="%s/slow.mp3" length="4194304" type="audio/mpeg"/></item></channel></rss>`, srv.URL)
		case "/slow.mp3":
			w.Header().Set("Content-Length", "4194304")
			io.WriteString(w, strings.Repeat("s", 2<<20))
			w.(http.Flusher).Flush()
			select {
			case <-stall:
			case <-r.Context().Done():
			}
		case "/flaky.xml":
			fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Flaky Show</title>
<item><guid>f1</guid><title>Broken One</title><enclosure url="%s/broken.mp3" length="4" type="audio/mpeg"/></item></channel></rss>`, srv.URL)
		case "/broken.mp3":
			http.Error(w, "gone wrong", http.StatusInternalServerError)
		case "/bad.xml":
			io.WriteString(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Bro`)
		case "/e1.mp3":
			io.WriteString(w, "mmmm")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stall) }) // before srv.Close, which waits for the handler
	return srv
}

// adminServer is the gateway's /admin and /api/v1 as serve wires them, on a real store, worker,
// scheduler and feed manager; token "" leaves admin.token unset.
func adminServer(t *testing.T, token string) (*httptest.Server, *httptest.Server, store.Store) {
	origin := adminOrigin(t)
	dir := t.TempDir()
	adminYAML := ""
	if token != "" {
		adminYAML = fmt.Sprintf("admin:\n  token: %q\n", token)
	}
	text := fmt.Sprintf("data_dir: %s\nhttp: {listen: \"127.0.0.1:0\"}\nseedbox: {peer_port: 1, dht: false}\ndemo: false\n"+
		"fetch: {allow_private_networks: true}\nfeeds:\n  - slug: pinned\n    url: %s/pinned.xml\n%s", filepath.Join(dir, "data"), origin.URL, adminYAML)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	events := admin.NewEvents(50)
	log := slog.New(admin.Tee{slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}), events.Handler()})
	seeder, err := seedbox.NewSeeder(seedbox.SeederConfig{ListenAddr: "127.0.0.1:0", StateDir: filepath.Join(dir, "state"),
		DisableUTP: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seeder.Close() })
	trk := tracker.New(tracker.Config{}, st, log, nil)
	w := worker.New(workerConfig(cfg), st, clients(cfg), seeder, trk, log)
	ctx, cancel := context.WithCancel(context.Background())
	sched := worker.NewScheduler(ctx, log)
	t.Cleanup(func() { cancel(); sched.Stop() })
	mgr := newManager(cfg, st, w, sched, log)
	if err := mgr.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sched.Start()
	mux := http.NewServeMux()
	serveAdmin(cfg, mux, st, mgr, trk, livestats.New(st, w, trk, seeder, maxBytes(cfg)), events, log)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, origin, st
}

// call sends a JSON request and decodes the JSON answer into a map.
func call(t *testing.T, method, u, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %s", method, u, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, out
}

func feedSlugs(t *testing.T, base string) []string {
	t.Helper()
	code, out := call(t, "GET", base+"/api/v1/feeds", testAdminToken, "")
	if code != 200 {
		t.Fatalf("list: %d %v", code, out)
	}
	var slugs []string
	for _, f := range out["feeds"].([]any) {
		slugs = append(slugs, f.(map[string]any)["slug"].(string))
	}
	return slugs
}

func TestAdminAPI(t *testing.T) {
	srv, origin, _ := adminServer(t, testAdminToken)
	base := srv.URL
	// Auth: none 401 with a challenge, wrong 403.
	if code, _ := call(t, "GET", base+"/api/v1/feeds", "", ""); code != 401 {
		t.Fatalf("no token: %d, want 401", code)
	}
	if code, _ := call(t, "GET", base+"/api/v1/feeds", "wrong-token-wrong-token", ""); code != 403 {
		t.Fatalf("wrong token: %d, want 403", code)
	}
	// Bad input, named; nothing added.
	for _, c := range []struct{ body, want string }{
		{`{"url": "` + origin.URL + `/good.xml", "slug": "Bad Slug"}`, "slug"},
		{`{"slug": "x"}`, "url"},
		{`{"url": "ftp://example.com/feed"}`, "url"},
		{`{"url": "` + origin.URL + `/good.xml", "colour": "red"}`, "colour"},
		{`{"url": "` + origin.URL + `/good.xml"} {}`, "one JSON object"},
		{`not json`, "body"},
	} {
		code, out := call(t, "POST", base+"/api/v1/feeds", testAdminToken, c.body)
		if msg, _ := out["error"].(string); code != 400 || !strings.Contains(msg, c.want) {
			t.Fatalf("POST %s: %d %v, want 400 naming %s", c.body, code, out, c.want)
		}
	}
	// A feed the check refuses: 422 with the findings, not added.
	code, out := call(t, "POST", base+"/api/v1/feeds", testAdminToken, `{"url": "`+origin.URL+`/bad.xml", "slug": "bad"}`)
	if f, _ := out["findings"].(map[string]any); code != 422 || f == nil || f["refused"] != true {
		t.Fatalf("refused feed: %d %v", code, out)
	}
	if got := feedSlugs(t, base); strings.Join(got, ",") != "pinned" {
		t.Fatalf("feeds after refusals: %v, want only pinned", got)
	}

	// Checking adds nothing: the findings, or why it would be refused (an unreachable feed too).
	code, out = call(t, "POST", base+"/api/v1/check", testAdminToken, `{"url": "`+origin.URL+`/good.xml"}`)
	if f, _ := out["findings"].(map[string]any); code != 200 || f["items"] != 1.0 || f["title"] != "Good Show" {
		t.Fatalf("check: %d %v", code, out)
	}
	code, out = call(t, "POST", base+"/api/v1/check", testAdminToken, `{"url": "http://127.0.0.1:1/feed.xml"}`)
	if msg, _ := out["error"].(string); code != 502 || !strings.Contains(msg, "could not be fetched") {
		t.Fatalf("check of an unreachable feed: %d %v", code, out)
	}
	// Added: 201 with the feed and where it is; polled at once.
	code, out = call(t, "POST", base+"/api/v1/feeds", testAdminToken, `{"url": "`+origin.URL+`/good.xml"}`)
	feed, _ := out["feed"].(map[string]any)
	if code != 201 || feed["slug"] != "good-show" || feed["origin"] != "runtime" || feed["pinned"] != false {
		t.Fatalf("add: %d %v", code, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, got := call(t, "GET", base+"/api/v1/feeds/good-show", testAdminToken, "")
		if eps, _ := got["episodes"].(map[string]any); eps["published"] == 1.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("added feed never published: %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := call(t, "POST", base+"/api/v1/feeds", testAdminToken, `{"url": "`+origin.URL+`/good.xml", "slug": "again"}`); code != 409 {
		t.Fatalf("same URL again: %d, want 409", code)
	}
	// Pause, poll refused while paused, resume.
	if code, out := call(t, "PATCH", base+"/api/v1/feeds/good-show", testAdminToken, `{"paused": true}`); code != 200 || out["paused"] != true {
		t.Fatalf("pause: %d %v", code, out)
	}
	if code, _ := call(t, "POST", base+"/api/v1/feeds/good-show/poll", testAdminToken, ""); code != 409 {
		t.Fatalf("poll of a paused feed: %d, want 409", code)
	}
	if code, _ := call(t, "PATCH", base+"/api/v1/feeds/good-show", testAdminToken, `{}`); code != 400 {
		t.Fatalf("PATCH without paused: %d, want 400", code)
	}
	if code, out := call(t, "PATCH", base+"/api/v1/feeds/good-show", testAdminToken, `{"paused": false}`); code != 200 || out["paused"] != false {
		t.Fatalf("resume: %d %v", code, out)
	}
	if code, _ := call(t, "POST", base+"/api/v1/feeds/good-show/poll", testAdminToken, ""); code != 202 {
		t.Fatalf("poll now: %d, want 202", code)
	}
	// Remove: a pinned feed is refused, bad media value named, then gone.
	if code, out := call(t, "DELETE", base+"/api/v1/feeds/pinned", testAdminToken, ""); code != 409 || !strings.Contains(fmt.Sprint(out["error"]), "config.yaml") {
		t.Fatalf("remove pinned: %d %v", code, out)
	}
	if code, _ := call(t, "DELETE", base+"/api/v1/feeds/good-show?media=shred", testAdminToken, ""); code != 400 {
		t.Fatalf("bad media: %d, want 400", code)
	}
	if code, _ := call(t, "DELETE", base+"/api/v1/feeds/good-show?media=delete", testAdminToken, ""); code != 204 {
		t.Fatalf("remove: %d, want 204", code)
	}
	if code, _ := call(t, "GET", base+"/api/v1/feeds/good-show", testAdminToken, ""); code != 404 {
		t.Fatalf("removed feed: %d, want 404", code)
	}
	if code, _ := call(t, "POST", base+"/api/v1/feeds/nope/poll", testAdminToken, ""); code != 404 {
		t.Fatalf("poll of an unknown feed: %d, want 404", code)
	}
}

func TestAdminOffWithoutToken(t *testing.T) {
	srv, _, _ := adminServer(t, "")
	for _, p := range []string{"/api/v1/feeds", "/admin", "/admin/login"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("%s without admin.token: %d, want 404", p, resp.StatusCode)
		}
	}
}

var progressRE = regexp.MustCompile(`data-progress="([0-9.]+)"`)

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

// browserish is a client with cookies that does not follow redirects.
func browserish(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func getPage(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func sessionCookie(c *http.Client, base string) string {
	u, _ := url.Parse(base + "/admin")
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == "seedcast_admin" {
			return k.Value
		}
	}
	return ""
}

func TestAdminSignInSessionsAndCSRF(t *testing.T) {
	srv, origin, _ := adminServer(t, testAdminToken)
	base := srv.URL
	c := browserish(t)
	if resp, _ := getPage(t, c, base+"/admin"); resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin/login" {
		t.Fatalf("/admin signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A session id planted before sign-in (fixation) is never honoured.
	planted := strings.Repeat("ab", 32)
	u, _ := url.Parse(base + "/admin")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "seedcast_admin", Value: planted, Path: "/admin"}})

	resp, page := getPage(t, c, base+"/admin/login")
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "http") {
		t.Fatalf("login page: %d, CSP %q", resp.StatusCode, csp)
	}
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in form:\n%s", page)
	}
	if resp, _ := post(t, c, base+"/admin/login", url.Values{"token": {testAdminToken}}); resp.StatusCode != 403 {
		t.Fatalf("sign-in without the form's CSRF token: %d, want 403", resp.StatusCode)
	}
	_, page = getPage(t, c, base+"/admin/login")
	m = csrfRE.FindStringSubmatch(page)
	if resp, page := post(t, c, base+"/admin/login", url.Values{"token": {"not-the-token"}, "csrf": {m[1]}}); resp.StatusCode != 401 ||
		!strings.Contains(page, "not the admin token") {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	_, page = getPage(t, c, base+"/admin/login")
	m = csrfRE.FindStringSubmatch(page)
	resp, _ = post(t, c, base+"/admin/login", url.Values{"token": {testAdminToken}, "csrf": {m[1]}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	for _, k := range resp.Cookies() {
		if k.Name == "seedcast_admin" && (!k.HttpOnly || k.SameSite != http.SameSiteStrictMode) {
			t.Fatalf("session cookie %+v is not HttpOnly SameSite=Strict", k)
		}
	}
	sess := sessionCookie(c, base)
	if sess == "" || sess == planted {
		t.Fatalf("session cookie %q after sign-in (planted %q)", sess, planted)
	}

	resp, page = getPage(t, c, base+"/admin")
	if resp.StatusCode != 200 || !strings.Contains(page, `id="feed-pinned"`) || !strings.Contains(page, "pinned in config.yaml") {
		t.Fatalf("dashboard: %d\n%s", resp.StatusCode, page)
	}
	csrf := csrfRE.FindStringSubmatch(page)[1]
	// A form without the session's CSRF token changes nothing.
	if resp, _ := post(t, c, base+"/admin/feeds", url.Values{"url": {origin.URL + "/good.xml"}}); resp.StatusCode != 403 {
		t.Fatalf("add without CSRF: %d, want 403", resp.StatusCode)
	}
	if resp, _ := post(t, c, base+"/admin/feeds", url.Values{"url": {origin.URL + "/good.xml"}, "csrf": {m[1]}}); resp.StatusCode != 403 {
		t.Fatalf("add with another form's token: %d, want 403", resp.StatusCode)
	}
	if got := feedSlugs(t, base); len(got) != 1 {
		t.Fatalf("a refused form added a feed: %v", got)
	}
	// The check's refusal is shown with its findings, nothing added.
	resp, page = post(t, c, base+"/admin/feeds", url.Values{"url": {origin.URL + "/bad.xml"}, "csrf": {csrf}})
	if resp.StatusCode != 422 || !strings.Contains(page, `id="findings"`) {
		t.Fatalf("refused add: %d\n%s", resp.StatusCode, page)
	}
	// Checking first shows the findings and the button to subscribe, and adds nothing.
	resp, page = post(t, c, base+"/admin/feeds", url.Values{"url": {origin.URL + "/good.xml"}, "slug": {"good"}, "step": {"check"}, "csrf": {csrf}})
	if resp.StatusCode != 200 || !strings.Contains(page, `id="findings"`) || !strings.Contains(page, "1 items, 1 enclosures") ||
		!strings.Contains(page, ">Subscribe</button>") || !strings.Contains(page, `value="good"`) {
		t.Fatalf("check first: %d\n%s", resp.StatusCode, page)
	}
	if got := feedSlugs(t, base); len(got) != 1 {
		t.Fatalf("checking added a feed: %v", got)
	}
	resp, _ = post(t, c, base+"/admin/feeds", url.Values{"url": {origin.URL + "/good.xml"}, "slug": {"good"}, "step": {"add"}, "csrf": {csrf}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/admin?done=added" {
		t.Fatalf("add: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := post(t, c, base+"/admin/feeds/good/pause", url.Values{"csrf": {csrf}}); resp.StatusCode != 303 {
		t.Fatalf("pause: %d", resp.StatusCode)
	}
	if _, page := getPage(t, c, base+"/admin?done=paused"); !strings.Contains(page, `data-slug="good" data-paused="true"`) ||
		!strings.Contains(page, "Feed paused.") {
		t.Fatalf("paused feed not shown paused:\n%s", page)
	}
	// Sign out ends the session for everyone holding its cookie.
	if resp, _ := post(t, c, base+"/admin/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != 303 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	stolen := browserish(t)
	stolen.Jar.SetCookies(u, []*http.Cookie{{Name: "seedcast_admin", Value: sess, Path: "/admin"}})
	if resp, _ := getPage(t, stolen, base+"/admin"); resp.StatusCode != 303 {
		t.Fatalf("a signed-out session still opens the dashboard: %d", resp.StatusCode)
	}
	// Scripts may use the Bearer token on /admin pages, without CSRF.
	req, _ := http.NewRequest("POST", base+"/admin/feeds/good/resume", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	r2, err := browserish(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 303 {
		t.Fatalf("resume by Bearer: %d", r2.StatusCode)
	}
}

func TestAdminSignInRateLimited(t *testing.T) {
	srv, _, _ := adminServer(t, testAdminToken)
	c := browserish(t)
	last := 0
	for range 12 {
		_, page := getPage(t, c, srv.URL+"/admin/login")
		m := csrfRE.FindStringSubmatch(page)
		resp, _ := post(t, c, srv.URL+"/admin/login", url.Values{"token": {"guess-guess-guess"}, "csrf": {m[1]}})
		last = resp.StatusCode
	}
	if last != 429 {
		t.Fatalf("the 12th wrong guess in a minute: %d, want 429", last)
	}
}

// The dashboard shows what the running gateway knows: the torrent with its figures, the
// downloads chart, a failed episode with its retry button, this node's recent events.
func TestAdminShowsLiveFigures(t *testing.T) {
	srv, origin, st := adminServer(t, testAdminToken)
	base := srv.URL
	if code, out := call(t, "POST", base+"/api/v1/feeds", testAdminToken, `{"url": "`+origin.URL+`/flaky.xml", "slug": "flaky"}`); code != 201 {
		t.Fatalf("add: %d %v", code, out)
	}
	page := func() string {
		req, _ := http.NewRequest("GET", base+"/admin", nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// A node's seeder bytes for today, as its upload recorder writes them.
	if err := st.AddSeederUploads(t.Context(), "node-x", time.Now(), map[string]int64{strings.Repeat("ab", 20): 5000}); err != nil {
		t.Fatal(err)
	}
	var p string
	deadline := time.Now().Add(15 * time.Second)
	for {
		p = page()
		if strings.Contains(p, `class="retry"`) && strings.Contains(p, `<tr data-info-hash=`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dashboard never showed the pinned feed's torrent and the flaky feed's failure:\n%s", p)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{`id="completions-chart"`, `id="uploads-chart"`, "Highest day: 5.0 kB", `id="torrents"`, "seeding 1 (4 B)", "Broken One", "500", `id="events"`, "feed added"} {
		if !strings.Contains(p, want) {
			t.Fatalf("dashboard lacks %q:\n%s", want, p)
		}
	}
	if code, _ := call(t, "POST", base+"/api/v1/feeds/flaky/retry", testAdminToken, `{"key": "guid:f1"}`); code != 202 {
		t.Fatalf("retry of a failed episode: %d, want 202", code)
	}
	code, out := call(t, "POST", base+"/api/v1/feeds/pinned/retry", testAdminToken, `{"key": "guid:e1"}`)
	if msg, _ := out["error"].(string); code != 400 || !strings.Contains(msg, "not failed") {
		t.Fatalf("retry of a published episode: %d %v, want 400", code, out)
	}
	if code, _ := call(t, "POST", base+"/api/v1/feeds/pinned/retry", testAdminToken, `{"key": "guid:nope"}`); code != 404 {
		t.Fatalf("retry of an unknown episode: %d, want 404", code)
	}
}

// The live downloads page shows a download in flight with its progress and reloads itself.
func TestAdminDownloadsPage(t *testing.T) {
	srv, origin, _ := adminServer(t, testAdminToken)
	if code, out := call(t, "POST", srv.URL+"/api/v1/feeds", testAdminToken, `{"url": "`+origin.URL+`/slow.xml", "slug": "slow"}`); code != 201 {
		t.Fatalf("add: %d %v", code, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, _ := http.NewRequest("GET", srv.URL+"/admin/downloads", nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(b)
		// Half the file was sent; what has reached the disk is between a byte and that half.
		if m := progressRE.FindStringSubmatch(page); m != nil && m[1] != "0.000" {
			if !strings.Contains(page, `http-equiv="refresh"`) || !strings.Contains(page, "Slow One") || !strings.Contains(page, "of 4.2 MB") || m[1] > "0.500" {
				t.Fatalf("downloads page:\n%s", page)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled download never showed progress:\n%s", page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A request to a late route is answered 503 with Retry-After while the gateway starts (here
// after a wait of 1 ns), and by the late routes once they are open.
func TestLateRoutesWaitForStart(t *testing.T) {
	mux := http.NewServeMux()
	l := lateRoutes(mux, time.Nanosecond, "/admin/")
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func() *http.Response {
		resp, err := http.Get(srv.URL + "/admin/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := get(); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("before open: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	l.mux.HandleFunc("GET /admin/x", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	l.open()
	if resp := get(); resp.StatusCode != http.StatusTeapot {
		t.Fatalf("after open: %d", resp.StatusCode)
	}
}
