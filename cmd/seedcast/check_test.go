package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
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
