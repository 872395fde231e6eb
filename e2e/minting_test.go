package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

// TestMintedDownloadsNotCounted: through a trusted proxy, many peer ids from
// a few addresses announce left>0 and then left=0 at once (minting), then
// again after a plausible download time. The gateway counts at most one
// download per listener (address + client) and none of the instant ones.
func TestMintedDownloadsNotCounted(t *testing.T) {
	const size = 2 << 20
	o := newOrigin(t, 1, size)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	cfg, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// 1 MB/s: a 2 MiB episode takes at least 2.1 s to download.
	cfg = []byte(strings.Replace(strings.Replace(string(cfg), "http:\n", "http:\n  trusted_proxies: [127.0.0.1]\n", 1),
		"max_download_rate: 10000000000", "max_download_rate: 1000000", 1))
	if err := os.WriteFile(g.cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	g.start()
	feed := g.waitPublished("show", 1, 60*time.Second)
	ih := fetchTorrent(t, torrentURLs(feed)[o.episodes[0].GUID]).HashInfoBytes()

	announce := func(from, id string, left int64, ev string) {
		t.Helper()
		var pid [20]byte
		copy(pid[:], id)
		u := fmt.Sprintf("%s/announce?info_hash=%s&peer_id=%s&port=51413&left=%d&event=%s", g.baseURL(),
			urlEscapeBytes(ih[:]), urlEscapeBytes(pid[:]), left, ev)
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := bencode.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if f, ok := body["failure reason"]; ok {
			t.Fatalf("announce %s from %s: %v", id, from, f)
		}
	}
	downloaded := func() int64 {
		t.Helper()
		_, _, d, err := g.scrape(ih)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	addrs := []string{"127.0.5.9", "127.0.5.10", "127.0.5.11"}
	// Minting: 90 peer ids (30 an address, one client family) straight to left=0.
	for i := range 90 {
		from, id := addrs[i%3], fmt.Sprintf("-qB4650-mint%08d", i)
		announce(from, id, size, "started")
		announce(from, id, 0, "completed")
	}
	if d := downloaded(); d != 0 {
		t.Fatalf("downloaded = %d after 90 instant completions, want 0", d)
	}
	// The same, with a plausible time between: one per listener.
	for i := range 30 {
		announce(addrs[i%3], fmt.Sprintf("-qB4650-slow%08d", i), size, "started")
	}
	time.Sleep(2200 * time.Millisecond) // the plausible download time of the rule under test, not a wait for an event
	for i := range 30 {
		announce(addrs[i%3], fmt.Sprintf("-qB4650-slow%08d", i), 0, "completed")
	}
	if d := downloaded(); d != 3 {
		t.Fatalf("downloaded = %d after 30 plausible completions from 3 listeners, want 3", d)
	}
	g.stop()
}
