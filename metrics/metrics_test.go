package metrics

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seedcast/seedcast/tracker"
)

const testToken = "metrics-test-token-0123456789"

// gateway is a tracker behind its real announce handler, and the metrics reading it.
type gateway struct {
	trk      *tracker.Tracker
	announce *httptest.Server
	scraper  *tracker.Scraper
	m        *Metrics
}

func newGateway(t *testing.T) *gateway {
	t.Helper()
	trk := tracker.New(tracker.Config{}, nil, nil, nil)
	if err := trk.Allow(t.Context(), infoHash, 1000); err != nil {
		t.Fatal(err)
	}
	announce := httptest.NewServer(trk.AnnounceHandler())
	t.Cleanup(announce.Close)
	// A tracker that answers every scrape with 500: the report's scraper counts its failures.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	sc := tracker.NewScraper(tracker.ScrapeConfig{Trackers: []string{broken.URL + "/announce"}}, nil, broken.Client(), nil, nil)
	m := New(prometheus.NewRegistry(), Sources{Announces: trk.AnnounceCounts, Swarms: trk.SwarmTotals, ScrapeErrors: sc.Errors},
		slog.New(slog.DiscardHandler))
	return &gateway{trk: trk, announce: announce, scraper: sc, m: m}
}

var infoHash = [20]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}

// announceHTTP sends one real BitTorrent HTTP announce, as a leecher, and checks it was answered.
func (g *gateway) announceHTTP(t *testing.T, peerID string) {
	t.Helper()
	q := url.Values{"info_hash": {string(infoHash[:])}, "peer_id": {peerID}, "port": {"6881"},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {"1000"}, "event": {"started"}, "compact": {"1"}}
	resp, err := http.Get(g.announce.URL + "/announce?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "failure reason") {
		t.Fatalf("announce: %s %q", resp.Status, body)
	}
}

func get(t *testing.T, h http.Handler, auth string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", "/metrics", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestProtected(t *testing.T) {
	g := newGateway(t)
	hash := sha256.Sum256([]byte(testToken))
	if w := get(t, Protected(g.m.Handler(), [32]byte{}, false), "Bearer "+testToken); w.Code != http.StatusNotFound {
		t.Errorf("no admin token configured: %d, want 404", w.Code)
	}
	h := Protected(g.m.Handler(), hash, true)
	for _, auth := range []string{"", "Bearer", "Bearer wrong-token-0123456789", "Basic " + testToken, "bearer " + testToken, "Bearer " + testToken + "x"} {
		w := get(t, h, auth)
		if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: %d, WWW-Authenticate %q; want 401 with a Bearer challenge", auth, w.Code, w.Header().Get("WWW-Authenticate"))
		}
		if strings.Contains(w.Body.String(), "seedcast_") {
			t.Errorf("Authorization %q: the body shows metrics", auth)
		}
	}
	w := get(t, h, "Bearer "+testToken)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "seedcast_tracker_announces_total") {
		t.Fatalf("right token: %d %q", w.Code, w.Body.String())
	}
}

// TestAnnouncesCounted: real announces over HTTP show in the series, unauthenticated on the
// plain handler (http.metrics_listen) as well.
func TestAnnouncesCounted(t *testing.T) {
	g := newGateway(t)
	g.announceHTTP(t, "-XX0001-aaaaaaaaaaaa")
	g.announceHTTP(t, "-XX0001-bbbbbbbbbbbb")
	if err := g.scraper.Scrape(t.Context(), []string{hex.EncodeToString(infoHash[:])}); err == nil {
		t.Fatal("scrape of the broken tracker succeeded")
	}
	srv := httptest.NewServer(g.m.Handler()) // as on http.metrics_listen: no token
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`seedcast_tracker_announces_total{protocol="http",result="ok"} 2`,
		`seedcast_tracker_announces_total{protocol="udp",result="ok"} 0`,
		`seedcast_tracker_leechers 2`,
		`seedcast_tracker_seeders 0`,
		`seedcast_tracker_scrape_errors_total 1`,
		`seedcast_polls_total{result="ok"} 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.Status)
	}
}

// TestRecorder: what the worker records appears under Prometheus's names.
func TestRecorder(t *testing.T) {
	g := newGateway(t)
	g.m.Poll("ok", 1500*time.Millisecond)
	g.m.Poll("not_modified", 10*time.Millisecond)
	g.m.Downloaded(12345)
	g.m.Published(3 * time.Second)
	g.m.StoreCall("feed", 2*time.Millisecond)
	body := get(t, g.m.Handler(), "").Body.String()
	for _, want := range []string{
		`seedcast_polls_total{result="ok"} 1`,
		`seedcast_polls_total{result="not_modified"} 1`,
		`seedcast_polls_total{result="error"} 0`,
		`seedcast_poll_duration_seconds_count 2`,
		`seedcast_poll_duration_seconds_sum 1.51`,
		`seedcast_enclosure_downloaded_bytes_total 12345`,
		`seedcast_publish_latency_seconds_sum 3`,
		`seedcast_store_query_duration_seconds_count{op="feed"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
}
