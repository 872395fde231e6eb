package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMaxItemsKeepsTheNewest subscribes a feed of 25 items with
// fetch.max_items: 20: the output keeps the 20 newest (by pubDate, whatever
// their order in the source), and /status and `seedcast status` say how many
// were left out and which key decides it.
func TestMaxItemsKeepsTheNewest(t *testing.T) {
	day := time.Now().UTC().Truncate(24 * time.Hour)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Dense</title><link>https://example.com/</link><description>d</description>`)
		for i := range 25 {
			// Item i is i days old, listed in a shuffled order (7 is prime to 25).
			n := (i * 7) % 25
			fmt.Fprintf(&b, "<item><guid>item-%d</guid><title>Item %d</title><pubDate>%s</pubDate></item>",
				n, n, day.Add(-time.Duration(n)*24*time.Hour).Format(time.RFC1123Z))
		}
		b.WriteString(`</channel></rss>`)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, b.String())
	}))
	defer srv.Close()
	g := newGateway(t, feedEntry{"dense", srv.URL + "/feed.xml"})
	cfg, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "  allow_private_networks: true\n", "  allow_private_networks: true\n  max_items: 20\n", 1))
	if err := os.WriteFile(g.cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	g.start()

	const want = "5 of 25 items left out: only the newest 20 are kept (fetch.max_items is 20)"
	waitFor(t, 30*time.Second, "the feed's status to say items were left out", func() error {
		fs, err := g.status()
		if err != nil {
			return err
		}
		if len(fs) != 1 || fs[0].Warning != want {
			return fmt.Errorf("status = %+v", fs)
		}
		return nil
	})
	f, _, err := g.outputFeed("dense")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Items) != 20 {
		t.Fatalf("output feed has %d items, want 20", len(f.Items))
	}
	for _, it := range f.Items {
		var n int
		if _, err := fmt.Sscanf(it.GUID, "item-%d", &n); err != nil || n >= 20 {
			t.Errorf("output kept %q: only items 0-19 (the newest) should be there", it.GUID)
		}
	}
	out, err := exec.Command(binary, "status", "-config", g.cfgPath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "dense: "+want) {
		t.Fatalf("seedcast status: %v\n%s", err, out)
	}
}
