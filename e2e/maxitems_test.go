package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
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

// TestDenseFeedMemory: a 19 MB feed of 600,000 tiny items (under the 20 MiB
// fetch.max_feed_bytes cap) is polled, then every flavour of its output is
// asked for at once, warm and again after a cold restart: the daemon's peak
// RSS stays under 512 MiB (it was 1.5 GB warm and 4.5 GB cold).
func TestDenseFeedMemory(t *testing.T) {
	var feed bytes.Buffer
	feed.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Dense</title><link>https://example.com/</link><description>d</description>` + "\n")
	for i := range 600000 {
		fmt.Fprintf(&feed, "<item><guid>%d</guid></item>\n", i)
	}
	feed.WriteString("</channel></rss>\n")
	body := feed.Bytes()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(body)
	}))
	defer srv.Close()
	g := newGateway(t, feedEntry{"dense", srv.URL + "/feed.xml"})
	peak := func(when string) {
		t.Helper()
		var wg sync.WaitGroup
		for _, path := range []string{"/feeds/dense.rss", "/feeds/dense/podcast.rss", "/feeds/dense.atom", "/feeds/dense.json"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(g.baseURL() + path)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				if n, _ := io.Copy(io.Discard, resp.Body); resp.StatusCode != 200 || n == 0 {
					t.Errorf("%s %s: %d, %d bytes", when, path, resp.StatusCode, n)
				}
			}()
		}
		wg.Wait()
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		var kb int64
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			}
		}
		t.Logf("%s: peak RSS %d MiB", when, kb>>10)
		if kb == 0 || kb > 512<<10 {
			t.Errorf("%s: peak RSS %d KiB, want under 512 MiB", when, kb)
		}
	}
	waitItems := func() {
		waitFor(t, 60*time.Second, "the dense feed's poll", func() error {
			fs, err := g.status()
			if err != nil {
				return err
			}
			if len(fs) != 1 || !strings.HasPrefix(fs[0].Warning, "590000 of 600000 items left out") {
				return fmt.Errorf("status = %+v", fs)
			}
			return nil
		})
	}
	g.start()
	waitItems()
	peak("after the poll")
	g.stop()
	g.start() // cold: nothing rendered yet, and the first poll runs at once
	peak("cold restart")
	waitItems()
	peak("cold restart, after the poll")
}
