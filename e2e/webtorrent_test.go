package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
)

// TestWebTorrentLeecher: a client that speaks only WebRTC, as a browser does (an
// anacrolix client with TCP and uTP off, no web seed), finds the gateway's
// seeder through the tracker's WebSocket side alone, downloads an episode from
// it while the origin serves nothing, and the tracker counts that download.
func TestWebTorrentLeecher(t *testing.T) {
	if !inPrivateNetwork(t) {
		return
	}
	o := newOrigin(t, 1, 2<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.start()
	feed := g.waitPublished("show", 1, 60*time.Second)
	o.serveMedia.Store(false)

	mi := fetchTorrent(t, torrentURLs(feed)[o.episodes[0].GUID])
	ws := fmt.Sprintf("ws://127.0.0.1:%d/announce", g.httpPort)
	if tiers := mi.AnnounceList; len(tiers) == 0 || tiers[len(tiers)-1][0] != ws {
		t.Fatalf("announce-list %v does not end with %s", tiers, ws)
	}
	// anacrolix's WebSocket client announces once, at the start, and never says it
	// completed; its HTTP announces do. With TCP and uTP off the peers the HTTP tracker
	// hands out are of no use to it, so every byte still comes over WebRTC.
	mi.Announce, mi.AnnounceList, mi.UrlList = ws, [][]string{{ws}, {g.baseURL() + "/announce"}}, nil

	dir := t.TempDir()
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = dir
	cfg.KeepAliveTimeout = 3 * time.Second // as seedbox.WriterWakeInterval: bounds a missed writer wake-up
	cfg.NoDHT = true
	cfg.DisableWebseeds = true
	cfg.DisableTCP = true
	cfg.DisableUTP = true
	cfg.NoDefaultPortForwarding = true
	cfg.Seed = false
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	tor, err := cl.AddTorrent(mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.DownloadAll()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	select {
	case <-tor.Complete().On():
	case <-ctx.Done():
		t.Fatalf("download over WebRTC did not complete: %d/%d bytes, %d peers", tor.BytesCompleted(), tor.Length(),
			tor.Stats().ActivePeers)
	}
	got, err := os.ReadFile(filepath.Join(dir, tor.Name()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, o.episodes[0].Body) {
		t.Fatal("downloaded bytes differ from the episode")
	}
	// Its completed announce: one counted download.
	g.waitDownloads(t, tor.InfoHash(), 1, 60*time.Second, "the tracker to count the WebRTC download")
}
