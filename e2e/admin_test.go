package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestAdminDashboard: an operator in a real Chromium opens /admin, is sent to sign in, is told a
// wrong token is wrong, signs in with the right one, adds a feed through the form and watches it
// publish, pauses it, sees a pinned feed's broken URL explained in plain words, is shown the
// check's findings for a feed the gateway refuses and told why a feed that cannot be fetched was
// not added (neither is added). Then, without a browser:
// CSRF, session fixation, the pages' CSP and the JSON API's auth and validation.
func TestAdminDashboard(t *testing.T) {
	requireTool(t, "/usr/bin/chromium", "--version")
	show := newOrigin(t, 2, 96<<10)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the feed is broken", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	// Not XML at all past its first tags: the check refuses it.
	half := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		io.WriteString(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Half a feed</title><item>`)
	}))
	t.Cleanup(half.Close)

	g := newGateway(t, feedEntry{"broken", broken.URL + "/feed.xml"})
	b, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g.cfgPath, append(b, "node:\n  name: seedbox-1\nadmin:\n  token: "+adminToken+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	g.start()

	d := &dashboard{t: t, tab: browser(t), base: g.baseURL()}
	d.signIn()
	d.addAndPublish(g, show.feedURL())
	d.pause("show")
	d.brokenFeed()
	d.unreachable(fmt.Sprintf("http://127.0.0.1:%d/feed.xml", freePort(t)))
	// The node's next heartbeat (every 10 s) counts the two torrents it now seeds.
	waitFor(t, 30*time.Second, "the Nodes table to show the node seeding both episodes", func() error {
		d.do("reloading", chromedp.Navigate(d.base+"/admin"), chromedp.WaitVisible(chromedp.CSS("#nodes")))
		if n := d.text("#nodes tbody"); !strings.Contains(n, "seedbox-1") || !strings.Contains(n, "2 torrents") || !strings.Contains(n, "KiB") {
			return fmt.Errorf("nodes table %q", n)
		}
		return nil
	})
	d.refused(half.URL + "/feed.xml")
	if *updateDocs {
		d.screenshot("../docs/admin-dashboard.png")
	}

	adminHTTPChecks(t, g.baseURL(), show.feedURL())
}

// dashboard drives the admin pages in one browser tab.
type dashboard struct {
	t    *testing.T
	tab  context.Context
	base string
}

func (d *dashboard) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		html, _ := chromedp.Run(d.tab, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		d.t.Fatalf("%s: %v\npage:\n%s", what, err, html)
	}
}

// eval evaluates a JavaScript expression in the page.
func (d *dashboard) eval(expr string) string {
	d.t.Helper()
	s, err := chromedp.Run(d.tab, chromedp.Evaluate[string](expr))
	if err != nil {
		d.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return s
}

// submit clicks a form's button and waits for the page the form's answer loads.
func (d *dashboard) submit(what, button string) {
	d.t.Helper()
	d.do(what, chromedp.Evaluate[chromedp.Void](`window.seedcastOldPage = true`), chromedp.Click(chromedp.CSS(button)))
	waitFor(d.t, 30*time.Second, what+": the next page", func() error {
		s, err := chromedp.Run(d.tab, chromedp.Evaluate[string](`window.seedcastOldPage ? "old" : document.readyState`))
		if err != nil || s != "complete" {
			return fmt.Errorf("%q %v", s, err)
		}
		return nil
	})
}

func (d *dashboard) text(sel string) string {
	return d.eval(fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, sel))
}

func (d *dashboard) path() string { return d.eval(`location.pathname`) }

// signIn: /admin sends an unsigned browser to /admin/login, a wrong token is refused in words,
// the right one lands on the dashboard.
func (d *dashboard) signIn() {
	d.t.Helper()
	d.do("opening /admin", chromedp.Navigate(d.base+"/admin"), chromedp.WaitVisible(chromedp.CSS("#login")))
	if p := d.path(); p != "/admin/login" {
		d.t.Fatalf("/admin without a session ends at %s, want /admin/login", p)
	}
	if *updateDocs {
		d.screenshot("../docs/admin-login.png")
	}
	d.do("a wrong token", chromedp.SetValue(chromedp.CSS(`#login input[name=token]`), "not-the-admin-token-at-all"))
	d.submit("a wrong token", `#login button[type=submit]`)
	if p := d.text("#problem"); !strings.Contains(p, "not the admin token") {
		d.t.Fatalf("after a wrong token the page says %q", p)
	}
	d.do("the right token", chromedp.SetValue(chromedp.CSS(`#login input[name=token]`), adminToken))
	d.submit("the right token", `#login button[type=submit]`)
	if p := d.path(); p != "/admin" {
		d.t.Fatalf("signed in at %s, want /admin", p)
	}
	if !strings.Contains(d.text("#feed-broken"), "pinned in config.yaml") {
		d.t.Fatalf("the config.yaml feed's row: %q", d.text("#feed-broken"))
	}
}

// addAndPublish adds the origin's feed through the form and waits until its row counts both
// episodes published and the output feed has them.
func (d *dashboard) addAndPublish(g *gateway, feedURL string) {
	d.t.Helper()
	d.do("adding a feed", chromedp.SetValue(chromedp.CSS(`#add input[name=url]`), feedURL),
		chromedp.SetValue(chromedp.CSS(`#add input[name=slug]`), "show"))
	// Check first: the findings and a Subscribe button, nothing added yet.
	d.submit("checking a feed", `#add #check`)
	if n, f := d.text("#notice"), d.text("#findings"); !strings.Contains(n, "nothing added yet") || !strings.Contains(f, "2 items, 2 enclosures") {
		d.t.Fatalf("after checking, the notice says %q and the findings %q", n, f)
	}
	if row := d.eval(`String(!!document.querySelector("#feed-show"))`); row != "false" {
		d.t.Fatal("checking added the feed")
	}
	if b := d.text("#add #subscribe"); b != "Subscribe" {
		d.t.Fatalf("the add button after a check says %q", b)
	}
	d.submit("subscribing", `#add #subscribe`)
	if n := d.text("#notice"); !strings.Contains(n, "Feed added") {
		d.t.Fatalf("after adding, the notice says %q", n)
	}
	if row := d.text("#feed-show"); !strings.Contains(row, "Origin Show") && !strings.Contains(row, "show") {
		d.t.Fatalf("no row for the added feed: %q", row)
	}
	waitFor(d.t, 60*time.Second, "the dashboard to show the feed's episodes published", func() error {
		d.do("reloading", chromedp.Navigate(d.base+"/admin"), chromedp.WaitVisible(chromedp.CSS("#feeds")))
		if c := d.text("#feed-show td.counts"); !strings.Contains(c, "published 2") {
			return fmt.Errorf("episodes cell %q", c)
		}
		return nil
	})
	g.waitPublished("show", 2, 10*time.Second)
	if s := d.text("#feed-show td.state"); !strings.Contains(s, "ok") {
		d.t.Fatalf("the published feed's state cell: %q", s)
	}
}

// pause pauses a feed from its row: the row says so and offers Resume instead.
func (d *dashboard) pause(slug string) {
	d.t.Helper()
	row := "#feed-" + slug
	d.submit("pausing", row+" button.pause")
	if n := d.text("#notice"); n != "Feed paused." {
		d.t.Fatalf("after pausing, the notice says %q", n)
	}
	paused := d.eval(fmt.Sprintf(`document.querySelector(%q)?.dataset.paused ?? "no row"`, row))
	resume := d.eval(fmt.Sprintf(`String(!!document.querySelector(%q) && !document.querySelector(%q))`,
		row+" button.resume", row+" button.pause"))
	if paused != "true" || resume != "true" {
		d.t.Fatalf("paused row: data-paused %q, Resume and no Pause: %s", paused, resume)
	}
}

// brokenFeed: the pinned feed's URL answers 500; after its first poll the row says so in words.
func (d *dashboard) brokenFeed() {
	d.t.Helper()
	waitFor(d.t, 30*time.Second, "the broken feed's error on the dashboard", func() error {
		d.do("reloading", chromedp.Navigate(d.base+"/admin"), chromedp.WaitVisible(chromedp.CSS("#feeds")))
		kind := d.eval(`document.querySelector("#feed-broken")?.dataset.errorKind ?? "no row"`)
		if kind != "http_status" {
			return fmt.Errorf("data-error-kind %q", kind)
		}
		return nil
	})
	if p := d.text("#feed-broken .problem"); p != "The feed's server answered with an error status." {
		d.t.Fatalf("the broken feed's problem: %q", p)
	}
	if e := d.text("#feed-broken .error"); !strings.Contains(e, "500") {
		d.t.Fatalf("the broken feed's error does not give the status: %q", e)
	}
	// Troubled feeds come first.
	if first := d.eval(`document.querySelector("#feeds tbody tr")?.dataset.slug ?? ""`); first != "broken" {
		d.t.Fatalf("first row is %q, want the broken feed", first)
	}
}

// refused: a feed the check refuses shows the findings and is not added.
func (d *dashboard) refused(feedURL string) {
	d.t.Helper()
	d.do("adding a refused feed", chromedp.SetValue(chromedp.CSS(`#add input[name=url]`), feedURL),
		chromedp.SetValue(chromedp.CSS(`#add input[name=slug]`), "half"))
	d.submit("adding a refused feed", `#add #subscribe`)
	if n := d.text("#notice"); !strings.HasPrefix(n, "Not added:") {
		d.t.Fatalf("refused feed's notice: %q", n)
	}
	if f := d.text("#findings"); !strings.Contains(f, "refused") {
		d.t.Fatalf("findings: %q", f)
	}
	if got := d.eval(`document.querySelector("#add input[name=url]").value`); got != feedURL {
		d.t.Fatalf("the form lost the URL: %q", got)
	}
	if row := d.eval(`String(!!document.querySelector("#feed-half"))`); row != "false" {
		d.t.Fatal("the refused feed has a row")
	}
}

// unreachable: a feed the check cannot fetch (nothing listens on its port) is not added, and
// the operator is told why rather than "internal error".
func (d *dashboard) unreachable(feedURL string) {
	d.t.Helper()
	d.do("adding an unreachable feed", chromedp.SetValue(chromedp.CSS(`#add input[name=url]`), feedURL),
		chromedp.SetValue(chromedp.CSS(`#add input[name=slug]`), "nowhere"))
	d.submit("adding an unreachable feed", `#add #subscribe`)
	if n := d.text("#notice"); !strings.HasPrefix(n, "Not added: the feed could not be fetched") || !strings.Contains(n, "refused") {
		d.t.Fatalf("unreachable feed's notice: %q", n)
	}
	if row := d.eval(`String(!!document.querySelector("#feed-nowhere"))`); row != "false" {
		d.t.Fatal("the unreachable feed has a row")
	}
}

// screenshot writes the page, 1280 pixels wide, to path.
func (d *dashboard) screenshot(path string) {
	d.t.Helper()
	shot, err := chromedp.Run(d.tab, chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		if _, err := chromedp.EmulateViewport(1280, 800)(ctx, tg); err != nil {
			return nil, err
		}
		return chromedp.FullScreenshot(100)(ctx, tg)
	}))
	if err != nil {
		d.t.Fatal(err)
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// adminHTTPChecks: what a browser would not show. A form POST without the CSRF token is refused,
// a session cookie held before sign-in is replaced and the old one dropped, the pages carry a
// strict CSP, and /api/v1 asks for the Bearer token and names a bad field.
func adminHTTPChecks(t *testing.T, base, feedURL string) {
	jar, _ := cookiejar.New(nil)
	admin, _ := url.Parse(base + "/admin")
	planted := strings.Repeat("ab", 32)
	jar.SetCookies(admin, []*http.Cookie{{Name: "seedcast_admin", Value: planted, Path: "/admin"}})
	c := &http.Client{Jar: jar}
	first := adminSignIn(t, c, base)
	if first == planted {
		t.Fatal("sign-in kept the session cookie planted before it (session fixation)")
	}
	second := adminSignIn(t, c, base)
	if second == first {
		t.Fatal("a second sign-in kept the session id")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, id := range []string{planted, first} {
		req, _ := http.NewRequest("GET", base+"/admin", nil)
		req.AddCookie(&http.Cookie{Name: "seedcast_admin", Value: id})
		resp := do(t, noRedirect, req)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/login" {
			t.Errorf("/admin with the session cookie %s… from before the last sign-in: %d %s", id[:8], resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	// CSRF: the signed-in session, but no token (or a wrong one) in the form, for a feed that
	// would be added (a URL not yet subscribed).
	for _, csrf := range []string{"", strings.Repeat("0", 64)} {
		form := url.Values{"url": {feedURL + "?via=no-csrf"}, "slug": {"csrf-show"}}
		if csrf != "" {
			form.Set("csrf", csrf)
		}
		resp, err := c.PostForm(base+"/admin/feeds", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /admin/feeds with csrf %q: %d, want 403", csrf, resp.StatusCode)
		}
	}

	for _, path := range []string{"/admin/login", "/admin"} {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if m := regexp.MustCompile(`(?:src|href|action)="(?:https?:)?//`).Find(body); m != nil {
			t.Errorf("%s links outside the gateway: %s", path, m)
		}
	}
	adminAPIChecks(t, base)
}

// adminSignIn signs c in with the admin token and returns the session cookie it was given.
func adminSignIn(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/admin/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in form:\n%s", page)
	}
	resp, err = c.PostForm(base+"/admin/login", url.Values{"csrf": {string(m[1])}, "token": {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/admin" {
		t.Fatalf("sign-in ended at %s with %d", resp.Request.URL.Path, resp.StatusCode)
	}
	u, _ := url.Parse(base + "/admin")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "seedcast_admin" {
			return ck.Value
		}
	}
	t.Fatal("signed in without a session cookie")
	return ""
}

func adminAPIChecks(t *testing.T, base string) {
	t.Helper()
	api := func(method, auth, body string) (int, string) {
		req, _ := http.NewRequest(method, base+"/api/v1/feeds", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp := do(t, http.DefaultClient, req)
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer not-the-admin-token-at-all", 403}} {
		if code, _ := api("GET", c.auth, ""); code != c.want {
			t.Errorf("GET /api/v1/feeds, Authorization %q: %d, want %d", c.auth, code, c.want)
		}
	}
	code, body := api("GET", "Bearer "+adminToken, "")
	var list struct {
		Feeds []struct {
			Slug      string `json:"slug"`
			Paused    bool   `json:"paused"`
			ErrorKind string `json:"error_kind"`
		} `json:"feeds"`
	}
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
		t.Fatalf("GET /api/v1/feeds with the token: %d %v\n%s", code, err, body)
	}
	got := map[string]string{}
	for _, f := range list.Feeds {
		got[f.Slug] = fmt.Sprintf("paused=%v kind=%q", f.Paused, f.ErrorKind)
	}
	want := map[string]string{"show": `paused=true kind=""`, "broken": `paused=false kind="http_status"`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("API feeds %v, want %v (the CSRF-less and refused adds must not be there)", got, want)
	}
	code, body = api("POST", "Bearer "+adminToken, `{"url": "http://127.0.0.1:1/feed.xml", "slug": "Bad Slug!"}`)
	if code != http.StatusBadRequest || !strings.Contains(body, "slug") {
		t.Errorf("POST /api/v1/feeds with a bad slug: %d %s", code, body)
	}
}

func do(t *testing.T, c *http.Client, req *http.Request) *http.Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
