package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSubmitSelfService: a podcaster submits their feed to the running gateway, puts the token
// in it, verifies, and gets their torrent feed, directory entry and report; the feed is
// podcast:locked, and the verified owner is its consent.
func TestSubmitSelfService(t *testing.T) {
	o := newOrigin(t, 1, 300<<10)
	locked := strings.Replace(o.feed(), "<channel>", `<channel><podcast:locked owner="me@example.com">yes</podcast:locked>`, 1)
	o.feedBody.Store(locked)
	g := newGateway(t)
	f, err := os.OpenFile(g.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("submissions: verify\n")
	f.Close()
	startServing(t, g)

	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		res, err := http.Post(g.baseURL()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out := map[string]any{}
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	code, sub := post("/api/v1/submissions", `{"url":"`+o.feedURL()+`"}`)
	id, _ := sub["id"].(string)
	token, _ := sub["token"].(string)
	owner, _ := sub["owner_token"].(string)
	if code != http.StatusCreated || id == "" || token == "" || owner == "" || sub["status"] != "awaiting_verification" {
		t.Fatalf("submit: %d %v", code, sub)
	}
	code, v := post("/api/v1/submissions/"+id+"/verify", "")
	if code != http.StatusOK || v["status"] != "awaiting_verification" {
		t.Fatalf("verify before the token is in the feed: %d %v", code, v)
	}
	o.feedBody.Store(strings.Replace(locked, "<channel>", `<channel><podcast:txt purpose="verify">`+token+`</podcast:txt>`, 1))
	code, v = post("/api/v1/submissions/"+id+"/verify", "")
	if code != http.StatusOK || v["status"] != "subscribed" || v["slug"] != "origin-show" {
		t.Fatalf("verify: %d %v", code, v)
	}

	// Subscribed at once: the first poll publishes the episode as a torrent.
	g.waitPublished("origin-show", 1, 60*time.Second)
	page := httpGet(t, g.baseURL()+"/submissions/"+id+"?token="+owner)
	for _, want := range []string{g.baseURL() + "/feeds/origin-show.rss", g.baseURL() + "/podcasts/origin-show",
		g.baseURL() + "/reports/origin-show?token=" + owner} {
		if !strings.Contains(page, want) {
			t.Errorf("the owner's page lacks %s:\n%s", want, page)
		}
	}
	if p := httpGet(t, g.baseURL()+"/podcasts/origin-show"); !strings.Contains(p, "Origin Show") {
		t.Errorf("directory entry:\n%s", p)
	}
	if r := httpGet(t, g.baseURL()+"/reports/origin-show.json?token="+owner); !strings.Contains(r, "origin-show") {
		t.Errorf("the owner's report:\n%s", r)
	}
}

func httpGet(t *testing.T, u string) string {
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

// TestSubmitFormInBrowser: /submit and the owner's Verify button in Chromium (no script on
// the pages, CSRF cookies, strict CSP): the form leads to the token, and Verify to the feeds.
func TestSubmitFormInBrowser(t *testing.T) {
	o := newOrigin(t, 1, 100<<10)
	g := newGateway(t)
	f, err := os.OpenFile(g.cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("submissions: verify\n")
	f.Close()
	startServing(t, g)
	tab := browser(t)
	if err := chromedp.Do(tab, chromedp.Navigate(g.baseURL()+"/submit")); err != nil {
		t.Fatal(err)
	}
	submit := `(() => { document.getElementById("url").value = ` + jsString(o.feedURL()) + `;
		setTimeout(() => document.getElementById("submit").requestSubmit(), 0); return true })()`
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](submit)); err != nil {
		t.Fatal(err)
	}
	waitPage(t, tab, `!!document.getElementById("token-tag")`, "the owner's page with the token")
	tag, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("token-tag").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	o.feedBody.Store(strings.Replace(o.feed(), "<channel>", "<channel>"+tag, 1))
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](
		`(() => { setTimeout(() => document.getElementById("verify-form").requestSubmit(), 0); return true })()`)); err != nil {
		t.Fatal(err)
	}
	waitPage(t, tab, `!!document.querySelector("#done a[href$='/feeds/origin-show.rss']")`, "the torrent feed links")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// waitPage waits until cond (JavaScript) holds on the tab's page; the page may be navigating
// meanwhile (a form's redirect), so an evaluation that fails is tried again.
func waitPage(t *testing.T, tab context.Context, cond, what string) {
	t.Helper()
	var err error
	waitFor(t, 30*time.Second, what, func() error {
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		defer cancel()
		var ok bool
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](cond)); err != nil {
			return err
		}
		if !ok {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			return fmt.Errorf("not yet; page:\n%s", body)
		}
		return nil
	})
}

// startServing starts the gateway and waits until it has registered everything: /healthz
// answers as soon as it listens, /submit only once the feed manager exists.
func startServing(t *testing.T, g *gateway) {
	t.Helper()
	g.start()
	waitFor(t, 30*time.Second, "seedcast serving", func() error {
		if !strings.Contains(g.logs.String(), "seedcast serving") {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}
