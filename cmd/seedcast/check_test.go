package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/store/sqlite"
)

const fixtureDir = "../../testdata/feeds/"

func TestCheckJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"check", fixtureDir + "podcastparser/no_title_multi_enclosure.rss", "-json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep checkReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(rep.Items) != 1 || len(rep.Items[0].Enclosures) != 2 || rep.Items[0].GUID == "" {
		t.Fatalf("report %+v", rep)
	}
	if !strings.Contains(strings.Join(rep.Problems, "\n"), "has 2 enclosures") {
		t.Errorf("problems do not mention the second enclosure: %q", rep.Problems)
	}
}

func TestCheckRefusesLocked(t *testing.T) {
	var out, errb bytes.Buffer
	feed := fixtureDir + "podcast-namespace/example.xml"
	if code := run([]string{"check", "-json", feed}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	var rep checkReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0], "podcast:locked") || len(rep.Items) != 3 {
		t.Errorf("report %+v", rep)
	}
	out.Reset()
	if code := run([]string{"check", "-owner-consent", feed}, &out, &errb); code != 0 {
		t.Errorf("with -owner-consent: exit %d", code)
	}
	if !strings.Contains(out.String(), "verdict: would be republished") {
		t.Errorf("text report:\n%s", out.String())
	}
}

// TestCheckURL fetches over HTTP and refuses what does not parse, naming
// the feed.
func TestCheckURL(t *testing.T) {
	good, err := os.ReadFile(fixtureDir + "podcastparser/simple.rss")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.Write([]byte("<html>not a feed</html>"))
			return
		}
		w.Write(good)
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	if code := run([]string{"check", srv.URL + "/feed"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "title: Podcast") || !strings.Contains(out.String(), "items: 1") {
		t.Errorf("report:\n%s", out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"check", srv.URL + "/bad"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), "refused: feeds: parse "+srv.URL+"/bad") {
		t.Errorf("report does not say why:\n%s", out.String())
	}
}

// TestCheckListsWhatPollPublishes runs `check` and `poll` over the same feed,
// whose alternateEnclosures repeat each item's enclosure URL: the enclosures
// check lists must be exactly the torrents the worker publishes.
func TestCheckListsWhatPollPublishes(t *testing.T) {
	raw, err := os.ReadFile(fixtureDir + "podcast-namespace/example.xml")
	if err != nil {
		t.Fatal(err)
	}
	var feed []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/feed.xml" {
			w.Write(feed)
			return
		}
		w.Write([]byte("media of " + r.URL.Path)) // any enclosure: a few bytes
	}))
	defer srv.Close()
	feed = bytes.ReplaceAll(raw, []byte("https://example.com"), []byte(srv.URL))

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	cfgText := fmt.Sprintf(`data_dir: %s
demo: false
tracker: {udp_listen: "off"}
fetch: {allow_private_networks: true, min_free_bytes: 1}
feeds:
  - {slug: ex, url: %q, owner_consent: true}
`, filepath.Join(dir, "data"), srv.URL+"/feed.xml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"poll", "-config", cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("poll: exit %d: %s", code, errb.String())
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "data", "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pub, err := st.Published(context.Background(), "ex")
	if err != nil {
		t.Fatal(err)
	}
	var published []string
	for _, e := range pub {
		if e.InfoHash != "" {
			published = append(published, e.GUID+" "+e.EnclosureURL)
		}
	}

	out.Reset()
	if code := run([]string{"check", "-json", "-owner-consent", srv.URL + "/feed.xml"}, &out, &errb); code != 0 {
		t.Fatalf("check: exit %d: %s", code, errb.String())
	}
	var rep checkReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	var checked []string
	for _, it := range rep.Items {
		for _, e := range it.Enclosures {
			checked = append(checked, it.GUID+" "+e.URL)
		}
	}
	slices.Sort(published)
	slices.Sort(checked)
	if len(published) != 13 || !slices.Equal(checked, published) {
		t.Fatalf("check lists\n%s\nthe worker published torrents of\n%s", strings.Join(checked, "\n"), strings.Join(published, "\n"))
	}
	if p := strings.Join(rep.Problems, "\n"); strings.Contains(p, "only the first") || !strings.Contains(p, srv.URL+"/file-03.mp3 2 times") {
		t.Errorf("problems do not say what the worker does:\n%s", p)
	}
}

// TestCheckHidesSecretsInTheFeedURL: check's report and errors name the
// feed by host and path, never by its password or token.
func TestCheckHidesSecretsInTheFeedURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.Write([]byte("<html>not a feed</html>"))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, path := range []string{"/bad", "/missing"} {
		var out, errb bytes.Buffer
		if code := run([]string{"check", "http://alice:hunter2@" + host + path + "?token=s3cret"}, &out, &errb); code != 1 {
			t.Fatalf("%s: exit %d, want 1", path, code)
		}
		all := out.String() + errb.String()
		if strings.Contains(all, "hunter2") || strings.Contains(all, "s3cret") || !strings.Contains(all, host+path) {
			t.Errorf("%s: check shows a secret or not the feed:\n%s", path, all)
		}
	}
}

// check cuts the feed to -max-items as the worker cuts it to fetch.max_items,
// and says how many items were left out.
func TestCheckMaxItems(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<rss version="2.0"><channel><title>T</title>`)
	for i := range 5 {
		fmt.Fprintf(&b, `<item><guid>g%d</guid><title>I%d</title><pubDate>Mon, 0%d Nov 2026 10:00:00 +0000</pubDate></item>`, i, i, i+1)
	}
	b.WriteString(`</channel></rss>`)
	path := filepath.Join(t.TempDir(), "feed.xml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"check", "-json", "-max-items", "2", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep checkReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(rep.Items) != 2 || rep.Items[0].GUID != "g3" || rep.Items[1].GUID != "g4" {
		t.Fatalf("items = %+v, want the newest two (g3, g4)", rep.Items)
	}
	if !strings.Contains(strings.Join(rep.Problems, "\n"), "3 of 5 items left out") {
		t.Errorf("problems do not say items were left out: %q", rep.Problems)
	}
}
