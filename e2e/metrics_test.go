package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const adminToken = "e2e-admin-token-0123456789"

// TestMetrics: the built gateway's /metrics is behind admin.token on the main listener and open
// on http.metrics_listen, and its series carry what the gateway did: the poll, the episodes
// published and their bytes, then a real download's announces and upload.
func TestMetrics(t *testing.T) {
	o := newOrigin(t, 2, 128<<10)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	metricsPort := freePort(t)
	b, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("http:\n"), fmt.Appendf(nil, "http:\n  metrics_listen: 127.0.0.1:%d\n", metricsPort), 1)
	b = append(b, "admin:\n  token: "+adminToken+"\n"...)
	if err := os.WriteFile(g.cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	g.start()
	f := g.waitPublished("show", 2, 60*time.Second)
	if strings.Contains(g.logs.String(), adminToken) {
		t.Fatal("the admin token is in the gateway's log")
	}
	if code, status := getMetrics(t, g.baseURL()+"/status", ""); code != http.StatusOK || strings.Contains(status, adminToken) {
		t.Fatalf("/status: %d, shows the admin token: %v", code, strings.Contains(status, adminToken))
	}

	main := g.baseURL() + "/metrics"
	for _, auth := range []string{"", "Bearer not-the-token-0123456789"} {
		if code, _ := getMetrics(t, main, auth); code != http.StatusUnauthorized {
			t.Errorf("main listener, Authorization %q: %d, want 401", auth, code)
		}
	}
	open := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	var total int64
	for _, ep := range o.episodes {
		total += int64(len(ep.Body))
	}
	// The worker records a publish before the poll that did it ends: wait for the poll.
	waitFor(t, 30*time.Second, "the first poll in the metrics", func() error {
		return wantSeries(t, open, "", map[string]float64{`seedcast_polls_total{result="ok"}`: 1})
	})
	if err := wantSeries(t, main, "Bearer "+adminToken, map[string]float64{
		`seedcast_polls_total{result="error"}`:                           0,
		`seedcast_episodes{state="published"}`:                           2,
		`seedcast_enclosure_downloaded_bytes_total`:                      float64(total),
		`seedcast_publish_latency_seconds_count`:                         2,
		`seedcast_poll_duration_seconds_count`:                           1,
		`seedcast_tracker_scrape_errors_total`:                           0,
		`seedcast_store_query_duration_seconds_count{op="save_channel"}`: 1,
		`seedcast_store_query_duration_seconds_count{op="feed"}`:         1,
	}); err != nil {
		t.Fatal(err)
	}

	ep := o.episodes[0]
	downloadOnce(t, fetchTorrent(t, torrentURLs(f)[ep.GUID]), ep.Body)
	waitFor(t, 30*time.Second, "the download's announces and upload in the metrics", func() error {
		_, body := getMetrics(t, open, "")
		ok := value(body, `seedcast_tracker_announces_total{protocol="http",result="ok"}`) +
			value(body, `seedcast_tracker_announces_total{protocol="udp",result="ok"}`)
		if ok < 2 { // the leecher's started and its stopped
			return fmt.Errorf("%v announces answered", ok)
		}
		if up := value(body, "seedcast_seeder_uploaded_bytes_total"); up < float64(len(ep.Body)) {
			return fmt.Errorf("seeder uploaded %v bytes, want at least %d", up, len(ep.Body))
		}
		if sent, up := value(body, "seedcast_seeder_sent_bytes_total"), value(body, "seedcast_seeder_uploaded_bytes_total"); sent < up {
			return fmt.Errorf("seeder wrote %v bytes to its sockets, fewer than the %v of piece data it counts", sent, up)
		}
		return nil
	})
}

func getMetrics(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// wantSeries checks series values in one scrape.
func wantSeries(t *testing.T, url, auth string, want map[string]float64) error {
	t.Helper()
	code, body := getMetrics(t, url, auth)
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d", url, code)
	}
	for series, v := range want {
		if got := value(body, series); got != v {
			return fmt.Errorf("%s = %v, want %v", series, got, v)
		}
	}
	return nil
}

// value is a series' value in a text exposition; -1 when absent.
func value(body, series string) float64 {
	for line := range strings.Lines(body) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}
