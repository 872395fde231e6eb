package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/seedcast/seedcast/config"
	"github.com/seedcast/seedcast/report"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqldb"
	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/tracker"
	"github.com/seedcast/seedcast/worker"
)

const submitAdminToken = "an-admin-token-for-tests"

// submitOrigin is a podcaster's server whose feed the test edits: the verify token, locked.
type submitOrigin struct {
	mu     sync.Mutex
	token  string
	locked bool
	srv    *httptest.Server
}

func newSubmitOrigin(t *testing.T) *submitOrigin {
	o := &submitOrigin{locked: true}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if r.URL.Path == "/page.html" {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<!doctype html><p>not a feed</p>")
			return
		}
		extra := ""
		if o.token != "" {
			extra += `<podcast:txt purpose="verify">` + o.token + `</podcast:txt>`
		}
		if o.locked {
			extra += `<podcast:locked owner="me@example.com">yes</podcast:locked>`
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>My Own Show</title><link>%[1]s/</link><description>d</description>%[2]s
<item><title>One</title><guid>ep-1</guid><enclosure url="%[1]s/one.mp3" length="1000" type="audio/mpeg"/></item>
</channel></rss>`, o.srv.URL, extra)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *submitOrigin) setToken(tok string) {
	o.mu.Lock()
	o.token = tok
	o.mu.Unlock()
}

type submitEnv struct {
	srv *httptest.Server
	st  *sqldb.DB
}

// newSubmitEnv is the gateway's HTTP side as serve wires it (feed manager without a scheduler).
func newSubmitEnv(t *testing.T, mode string, allowPrivate bool) *submitEnv {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Parse(fmt.Appendf(nil, "data_dir: %s\nsubmissions: %s\nadmin:\n  token: %s\n"+
		"fetch:\n  allow_private_networks: %v\nhttp:\n  public_url: http://gw.example\n  trusted_proxies: [127.0.0.0/8]\n",
		dir, mode, submitAdminToken, allowPrivate))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	trk := tracker.New(tracker.Config{TrustedProxies: cfg.HTTP.TrustedProxyPrefixes()}, st, nil, nil)
	w := worker.New(workerConfig(cfg), st, clients(cfg), nil, nil, nil)
	m := newManager(cfg, st, w, nil, nil)
	mux := http.NewServeMux()
	ah := serveAdmin(cfg, mux, st, m, trk, nil, nil, nil)
	serveSubmissions(cfg, mux, st, m, ah, trk, nil)
	report.NewHandler(st, reportAuth(cfg, st), "", cfg.Audience.CostPerGBOrDefault(), slog.New(slog.DiscardHandler), nil).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &submitEnv{srv: srv, st: st}
}

type apiAnswer struct {
	code int
	body map[string]any
}

// call sends a JSON request as the client at addr (X-Forwarded-For; the proxy is trusted).
func (e *submitEnv) call(t *testing.T, method, path, body, addr string, hdr ...string) apiAnswer {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if addr != "" {
		req.Header.Set("X-Forwarded-For", addr)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := apiAnswer{code: res.StatusCode, body: map[string]any{}}
	json.Unmarshal(b, &a.body)
	return a
}

func (a apiAnswer) str(k string) string { s, _ := a.body[k].(string); return s }

func (e *submitEnv) submissions(t *testing.T) []store.Submission {
	list, err := e.st.Submissions(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestSubmitVerifyFlow(t *testing.T) {
	o := newSubmitOrigin(t)
	e := newSubmitEnv(t, "verify", true)
	feedURL := o.srv.URL + "/feed.xml"
	c := e.call(t, "POST", "/api/v1/submissions", `{"url":"`+feedURL+`"}`, "127.0.5.9")
	id, tok, owner := c.str("id"), c.str("token"), c.str("owner_token")
	if c.code != http.StatusCreated || id == "" || tok == "" || owner == "" || c.str("status") != store.SubmissionAwaiting ||
		!strings.Contains(c.str("instructions"), `<podcast:txt purpose="verify">`+tok+`</podcast:txt>`) {
		t.Fatalf("create: %d %v", c.code, c.body)
	}
	// Not in the feed yet: still awaiting, saying what was found.
	v := e.call(t, "POST", "/api/v1/submissions/"+id+"/verify", "", "127.0.5.9")
	if v.code != http.StatusOK || v.str("status") != store.SubmissionAwaiting || !strings.Contains(v.str("note"), "no <podcast:txt") {
		t.Fatalf("verify before the token: %d %v", v.code, v.body)
	}
	o.setToken("someone-elses-token")
	v = e.call(t, "POST", "/api/v1/submissions/"+id+"/verify", "", "127.0.5.9")
	if v.str("status") != store.SubmissionAwaiting || !strings.Contains(v.str("note"), "someone-elses-token") {
		t.Fatalf("verify with another token: %d %v", v.code, v.body)
	}
	if _, err := e.st.Feed(context.Background(), "my-own-show"); err == nil {
		t.Fatal("subscribed before verification")
	}
	o.setToken(tok)
	v = e.call(t, "POST", "/api/v1/submissions/"+id+"/verify", "", "127.0.5.9")
	if v.code != http.StatusOK || v.str("status") != store.SubmissionDone || v.str("slug") != "my-own-show" {
		t.Fatalf("verify with the token: %d %v", v.code, v.body)
	}
	// The feed is podcast:locked: the verified owner is its consent.
	f, err := e.st.Feed(context.Background(), "my-own-show")
	if err != nil || !f.OwnerConsent || f.URL != feedURL {
		t.Fatalf("feed = %+v, %v", f, err)
	}

	// The owner's page, with the token; not without it.
	page := get(t, e.srv.URL+"/submissions/"+id+"?token="+url.QueryEscape(owner))
	for _, want := range []string{"http://gw.example/feeds/my-own-show.rss", "http://gw.example/podcasts/my-own-show",
		"http://gw.example/reports/my-own-show?token=" + url.QueryEscape(owner)} {
		if !strings.Contains(page, want) {
			t.Errorf("owner page lacks %s:\n%s", want, page)
		}
	}
	if a := e.call(t, "GET", "/submissions/"+id+"?token="+id+".wrong", "", ""); a.code != http.StatusNotFound {
		t.Errorf("owner page with a wrong token: %d", a.code)
	}
	if a := e.call(t, "GET", "/api/v1/submissions/"+id, "", "", "Authorization", "Bearer "+owner); a.code != http.StatusOK ||
		!strings.Contains(a.str("report"), "/reports/my-own-show?token=") {
		t.Errorf("owner API: %d %v", a.code, a.body)
	}

	// The report: the owner's feed only.
	if a := e.call(t, "GET", "/reports/my-own-show.json", "", "", "Authorization", "Bearer "+owner); a.code != http.StatusOK {
		t.Errorf("owner's report: %d %v", a.code, a.body)
	}
	if err := e.st.AddFeed(context.Background(), "other-show", "http://example.com/other.xml", false, f.AddedAt); err != nil {
		t.Fatal(err)
	}
	if a := e.call(t, "GET", "/reports/other-show.json", "", "", "Authorization", "Bearer "+owner); a.code != http.StatusForbidden {
		t.Errorf("another feed's report with the owner token: %d", a.code)
	}
	if a := e.call(t, "GET", "/reports/my-own-show.json", "", "", "Authorization", "Bearer "+id+".forged"); a.code != http.StatusUnauthorized {
		t.Errorf("report with a forged owner token: %d", a.code)
	}
	// Verifying again changes nothing; a second submission of the same feed is refused.
	if v := e.call(t, "POST", "/api/v1/submissions/"+id+"/verify", "", "127.0.5.9"); v.str("status") != store.SubmissionDone {
		t.Errorf("verify again: %v", v.body)
	}
	if a := e.call(t, "POST", "/api/v1/submissions", `{"url":"`+feedURL+`"}`, "127.0.5.10"); a.code != http.StatusConflict ||
		!strings.Contains(a.str("error"), "/podcasts/my-own-show") {
		t.Errorf("submitting a carried feed: %d %v", a.code, a.body)
	}
}

func get(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
	}
	return string(b)
}

func TestSubmitBadInputAddsNothing(t *testing.T) {
	o := newSubmitOrigin(t)
	e := newSubmitEnv(t, "verify", true)
	for i, tc := range []struct {
		body, want string
		code       int
	}{
		{`not json`, "body must be a JSON object", 400},
		{`{"url":"` + o.srv.URL + `/feed.xml","slug":"x"}`, "unknown field", 400},
		{`{}`, "url is required", 400},
		{`{"url":"ftp://example.com/feed.xml"}`, "absolute http:// or https://", 400},
		{`{"url":"/feed.xml"}`, "absolute http:// or https://", 400},
		{`{"url":"http://me:secret@example.com/feed.xml"}`, "user name or password", 400},
		{`{"url":"http://example.com/` + strings.Repeat("a", 3000) + `"}`, "longer than 2048", 400},
		{`{"url":"` + strings.Repeat("a", 9000) + `"}`, "body must be a JSON object", 400},
		{`{"url":"` + o.srv.URL + `/feed.xml"} {}`, "one JSON object", 400},
		{`{"url":"` + o.srv.URL + `/page.html"}`, "the feed cannot be taken", 422},
	} {
		// A new address each time: the rate limit is not what is tested here.
		a := e.call(t, "POST", "/api/v1/submissions", tc.body, fmt.Sprintf("127.0.6.%d", i))
		if a.code != tc.code || !strings.Contains(a.str("error"), tc.want) {
			t.Errorf("%.80s: %d %q, want %d with %q", tc.body, a.code, a.str("error"), tc.code, tc.want)
		}
	}
	if list := e.submissions(t); len(list) != 0 {
		t.Errorf("bad submissions were stored: %+v", list)
	}
	if a := e.call(t, "POST", "/api/v1/submissions/nope/verify", "", "127.0.6.99"); a.code != http.StatusNotFound {
		t.Errorf("verifying an unknown submission: %d", a.code)
	}
}

func TestSubmitRateLimitPerAddress(t *testing.T) {
	o := newSubmitOrigin(t)
	e := newSubmitEnv(t, "verify", true)
	body := `{"url":"` + o.srv.URL + `/feed.xml"}`
	for i := range 5 {
		if a := e.call(t, "POST", "/api/v1/submissions", body, "127.0.7.1"); a.code != http.StatusCreated {
			t.Fatalf("submission %d: %d %v", i, a.code, a.body)
		}
	}
	if a := e.call(t, "POST", "/api/v1/submissions", body, "127.0.7.1"); a.code != http.StatusTooManyRequests {
		t.Fatalf("sixth submission from one address: %d %v", a.code, a.body)
	}
	if a := e.call(t, "POST", "/api/v1/submissions", body, "127.0.7.2"); a.code != http.StatusCreated {
		t.Fatalf("another address: %d %v", a.code, a.body)
	}
	if n := len(e.submissions(t)); n != 6 {
		t.Errorf("%d submissions stored, want 6", n)
	}
}

// TestSubmitRefusesPrivateNetworks: a submission goes through the feeds' SSRF guard.
func TestSubmitRefusesPrivateNetworks(t *testing.T) {
	o := newSubmitOrigin(t)
	e := newSubmitEnv(t, "verify", false)
	for i, u := range []string{o.srv.URL + "/feed.xml", "http://10.1.2.3/feed.xml", "http://[::1]:9/feed.xml"} {
		a := e.call(t, "POST", "/api/v1/submissions", `{"url":"`+u+`"}`, fmt.Sprintf("127.0.8.%d", i))
		if a.code != http.StatusUnprocessableEntity || !strings.Contains(a.str("error"), "could not be fetched") {
			t.Errorf("%s: %d %v, want 422", u, a.code, a.body)
		}
	}
	if list := e.submissions(t); len(list) != 0 {
		t.Errorf("refused submissions were stored: %+v", list)
	}
}

func TestSubmitApproveMode(t *testing.T) {
	o := newSubmitOrigin(t)
	e := newSubmitEnv(t, "approve", true)
	feedURL := o.srv.URL + "/feed.xml"
	c := e.call(t, "POST", "/api/v1/submissions", `{"url":"`+feedURL+`"}`, "127.0.9.1")
	id := c.str("id")
	o.setToken(c.str("token"))
	v := e.call(t, "POST", "/api/v1/submissions/"+id+"/verify", "", "127.0.9.1")
	if v.str("status") != store.SubmissionPending {
		t.Fatalf("verified in approve mode: %d %v", v.code, v.body)
	}
	if _, err := e.st.Feed(context.Background(), "my-own-show"); err == nil {
		t.Fatal("subscribed before the operator accepted")
	}
	if a := e.call(t, "POST", "/api/v1/submissions/"+id+"/approve", "", ""); a.code != http.StatusUnauthorized {
		t.Errorf("approve without the admin token: %d", a.code)
	}
	list := e.call(t, "GET", "/api/v1/submissions", "", "", "Authorization", "Bearer "+submitAdminToken)
	if subs, _ := list.body["submissions"].([]any); list.code != 200 || len(subs) != 1 {
		t.Errorf("list: %d %v", list.code, list.body)
	}
	// The dashboard's list offers Approve (by Bearer here; a session's form carries its CSRF token).
	req, _ := http.NewRequest("GET", e.srv.URL+"/admin/submissions", nil)
	req.Header.Set("Authorization", "Bearer "+submitAdminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(page, []byte(`action="/admin/submissions/`+id+`/approve"`)) {
		t.Errorf("/admin/submissions: %d\n%s", res.StatusCode, page)
	}
	a := e.call(t, "POST", "/api/v1/submissions/"+id+"/approve", "", "", "Authorization", "Bearer "+submitAdminToken)
	if a.code != http.StatusOK || a.str("status") != store.SubmissionDone || a.str("slug") != "my-own-show" {
		t.Fatalf("approve: %d %v", a.code, a.body)
	}
	if f, err := e.st.Feed(context.Background(), "my-own-show"); err != nil || !f.OwnerConsent {
		t.Fatalf("feed after approval = %+v, %v", f, err)
	}
	if a := e.call(t, "POST", "/api/v1/submissions/"+id+"/reject", "", "", "Authorization", "Bearer "+submitAdminToken); a.code != http.StatusConflict {
		t.Errorf("rejecting a subscribed submission: %d %v", a.code, a.body)
	}
	// Another one, turned down.
	o2 := newSubmitOrigin(t)
	c2 := e.call(t, "POST", "/api/v1/submissions", `{"url":"`+o2.srv.URL+`/feed.xml"}`, "127.0.9.2")
	if a := e.call(t, "POST", "/api/v1/submissions/"+c2.str("id")+"/reject", "", "", "Authorization", "Bearer "+submitAdminToken); a.code != 200 ||
		a.str("status") != store.SubmissionRejected {
		t.Errorf("reject: %d %v", a.code, a.body)
	}
	if a := e.call(t, "POST", "/api/v1/submissions/"+c2.str("id")+"/approve", "", "", "Authorization", "Bearer "+submitAdminToken); a.code != http.StatusConflict {
		t.Errorf("approving a rejected submission: %d %v", a.code, a.body)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

// TestSubmitForm: the form needs its CSRF cookie echoed; it leads to the owner's page, whose
// Verify button works by the cookie set for that page.
func TestSubmitForm(t *testing.T) {
	o := newSubmitOrigin(t)
	e := newSubmitEnv(t, "verify", true)
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	feedURL := o.srv.URL + "/feed.xml"
	res, err := http.PostForm(e.srv.URL+"/submit", url.Values{"url": {feedURL}, "csrf": {strings.Repeat("a", 64)}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("form without the CSRF cookie: %d", res.StatusCode)
	}
	form := func(path string) string {
		res, err := cl.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		m := csrfField.FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s has no CSRF field:\n%s", path, b)
		}
		return string(m[1])
	}
	res, err = cl.PostForm(e.srv.URL+"/submit", url.Values{"url": {feedURL}, "csrf": {form("/submit")}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	list := e.submissions(t)
	if res.StatusCode != http.StatusOK || len(list) != 1 || res.Request.URL.Path != "/submissions/"+list[0].ID ||
		!bytes.Contains(b, []byte(list[0].Token)) {
		t.Fatalf("form: %d at %s, %d submissions:\n%s", res.StatusCode, res.Request.URL, len(list), b)
	}
	o.setToken(list[0].Token)
	page := "/submissions/" + list[0].ID
	res, err = cl.PostForm(e.srv.URL+page+"/verify", url.Values{"csrf": {form(page)}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("/feeds/my-own-show.rss")) {
		t.Fatalf("verify button: %d:\n%s", res.StatusCode, b)
	}
}

func TestSubmitOff(t *testing.T) {
	o := newSubmitOrigin(t)
	e := newSubmitEnv(t, "off", true)
	if a := e.call(t, "POST", "/api/v1/submissions", `{"url":"`+o.srv.URL+`/feed.xml"}`, ""); a.code != http.StatusMethodNotAllowed {
		// Only the operator's GET is there.
		t.Errorf("POST /api/v1/submissions with submissions off: %d", a.code)
	}
	if a := e.call(t, "GET", "/submit", "", ""); a.code != http.StatusNotFound {
		t.Errorf("GET /submit with submissions off: %d", a.code)
	}
	if a := e.call(t, "GET", "/api/v1/submissions", "", "", "Authorization", "Bearer "+submitAdminToken); a.code != http.StatusOK {
		t.Errorf("the operator's list with submissions off: %d", a.code)
	}
}
