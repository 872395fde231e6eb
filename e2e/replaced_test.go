package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// changingOrigin serves a one-episode feed whose media can be replaced by
// other bytes (of another length) under the same guid and URL.
type changingOrigin struct {
	srv     *httptest.Server
	pubDate time.Time
	mu      sync.Mutex
	body    []byte
	version int
}

func newChangingOrigin(t *testing.T, body []byte) *changingOrigin {
	t.Helper()
	o := &changingOrigin{body: body, version: 1, pubDate: time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Hour)}
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		body, _ := o.current()
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Changing Show</title><link>https://example.com/c</link><description>d</description>
<item><title>The episode</title><guid isPermaLink="false">urn:test:replaced</guid><pubDate>%s</pubDate>
<enclosure url="%s/media/ep.mp3" length="%d" type="audio/mpeg"/></item>
</channel></rss>
`, o.pubDate.Format(time.RFC1123Z), o.srv.URL, len(body))
	})
	mux.HandleFunc("/media/ep.mp3", func(w http.ResponseWriter, r *http.Request) {
		body, v := o.current()
		etag := fmt.Sprintf(`"v%d"`, v)
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "audio/mpeg")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		w.Write(body)
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *changingOrigin) current() ([]byte, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.body, o.version
}

func (o *changingOrigin) replace(body []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.body, o.version = body, o.version+1
}

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// downloadOnce fetches a torrent from the gateway's seeder only (no web
// seed, no DHT) with a fresh anacrolix client, checks the bytes and closes
// the client: its `stopped` announce with nothing left is the completion.
func downloadOnce(t *testing.T, mi *metainfo.MetaInfo, want []byte) {
	t.Helper()
	dir := t.TempDir()
	cl := seederOnlyClient(t, dir)
	defer cl.Close()
	mi.UrlList = nil
	tor, err := addTorrent(cl, mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.DownloadAll()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	select {
	case <-tor.Complete().On():
	case <-ctx.Done():
		t.Fatalf("download of %s did not complete: %d/%d bytes", tor.InfoHash().HexString(), tor.BytesCompleted(), tor.Length())
	}
	got, err := os.ReadFile(mediaPath(dir, tor))
	if err != nil || string(got) != string(want) {
		t.Fatalf("downloaded %s: %d bytes (%v), want %d", tor.InfoHash().HexString(), len(got), err, len(want))
	}
}

// TestReplacedEpisodeReport: an episode is downloaded once, its file is then
// replaced at the origin (other bytes, another length), the gateway makes a
// new torrent and supersedes the old one, retention (keep_episodes: 1)
// deletes the old one's media, the new torrent is downloaded once: the
// sponsor report shows the episode with both downloads and both torrents.
func TestReplacedEpisodeReport(t *testing.T) {
	v1, v2 := randomBytes(1, 1<<20), randomBytes(2, 1<<20+54321)
	o := newChangingOrigin(t, v1)
	g := newGateway(t, feedEntry{"show", o.srv.URL + "/feed.xml"})
	b, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), `poll: "@every 1h"`, `poll: "@every 2s"`, 1)
	cfg = strings.Replace(cfg, "/feed.xml\n", "/feed.xml\n    keep_episodes: 1\n", 1)
	cfg += fmt.Sprintf("sponsors:\n  - name: acme\n    token: %q\n    feeds: [show]\n", sponsorToken)
	if err := os.WriteFile(g.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	g.start()

	feed := g.waitPublished("show", 1, 60*time.Second)
	mi1 := fetchTorrent(t, torrentURLs(feed)["urn:test:replaced"])
	h1 := mi1.HashInfoBytes()
	downloadOnce(t, mi1, v1)
	waitFor(t, 30*time.Second, "the first torrent's completion", func() error {
		if _, _, n, err := g.scrape(h1); err != nil || n != 1 {
			return fmt.Errorf("downloaded = %d (%v), want 1", n, err)
		}
		return nil
	})

	o.replace(v2)
	var mi2 *metainfo.MetaInfo
	waitFor(t, 60*time.Second, "the output feed to list a new torrent for the replaced file", func() error {
		f, _, err := g.outputFeed("show")
		if err != nil {
			return err
		}
		u, ok := torrentURLs(f)["urn:test:replaced"]
		if !ok {
			return fmt.Errorf("episode not listed")
		}
		// A feed read just before the replacement lists the first torrent, whose
		// .torrent retention may remove at once: read the feed again.
		if mi2, err = loadTorrent(u); err != nil {
			return err
		}
		if mi2.HashInfoBytes() == h1 {
			return fmt.Errorf("still the first torrent")
		}
		return nil
	})
	h2 := mi2.HashInfoBytes()
	downloadOnce(t, mi2, v2)

	type torrentRow struct {
		InfoHash  string    `json:"info_hash"`
		State     string    `json:"state"`
		EvictedAt time.Time `json:"evicted_at"`
		Downloads int64     `json:"downloads"`
	}
	var rep struct {
		Episodes []struct {
			GUID      string       `json:"guid"`
			InfoHash  string       `json:"info_hash"`
			Downloads int64        `json:"downloads"`
			Torrents  []torrentRow `json:"torrents"`
		} `json:"episodes"`
		Totals struct {
			Episodes  int   `json:"episodes"`
			Downloads int64 `json:"downloads"`
		} `json:"totals"`
	}
	var body []byte
	waitFor(t, 30*time.Second, "the report to sum both torrents, the old one evicted", func() error {
		code, b, err := getReport(g.baseURL()+"/reports/show.json", sponsorToken)
		if err != nil || code != 200 {
			return fmt.Errorf("status %d (%v): %s", code, err, b)
		}
		body = b
		if err := json.Unmarshal(b, &rep); err != nil {
			return err
		}
		if len(rep.Episodes) != 1 {
			return fmt.Errorf("%d episodes, want 1", len(rep.Episodes))
		}
		e := rep.Episodes[0]
		want := []torrentRow{{InfoHash: h2.HexString(), State: "current", Downloads: 1},
			{InfoHash: h1.HexString(), State: "superseded", Downloads: 1}}
		if e.Downloads != 2 || e.InfoHash != h2.HexString() || rep.Totals.Downloads != 2 || rep.Totals.Episodes != 1 ||
			len(e.Torrents) != 2 {
			return fmt.Errorf("episode %+v, totals %+v: want 2 downloads over 2 torrents", e, rep.Totals)
		}
		for i, w := range want {
			got := e.Torrents[i]
			if got.InfoHash != w.InfoHash || got.State != w.State || got.Downloads != w.Downloads {
				return fmt.Errorf("torrent %d = %+v, want %+v", i, got, w)
			}
		}
		if !e.Torrents[0].EvictedAt.IsZero() || e.Torrents[1].EvictedAt.IsZero() {
			return fmt.Errorf("evicted_at = %v / %v: want only the superseded torrent evicted", e.Torrents[0].EvictedAt, e.Torrents[1].EvictedAt)
		}
		return nil
	})
	t.Logf("report: %s", body)
	// Retention deleted the first file: its downloads count without it.
	filepath.Walk(g.dataDir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(v1)) {
			if b, _ := os.ReadFile(path); string(b) == string(v1) {
				t.Errorf("the superseded media is still at %s", path)
			}
		}
		return nil
	})
	code, csvBody, err := getReport(g.baseURL()+"/reports/show.csv", sponsorToken)
	if err != nil || code != 200 || strings.Count(string(csvBody), "\n") != 3 ||
		!strings.Contains(string(csvBody), h1.HexString()+",1,") || !strings.Contains(string(csvBody), h2.HexString()+",1,") {
		t.Errorf("csv: %d %v, want a header and a row per torrent:\n%s", code, err, csvBody)
	}
	g.stop()
}
