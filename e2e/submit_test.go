package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
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
	g.start()

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

