package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestHybridByV2InfoHash: the gateway publishes hybrid torrents by default, and libtorrent given
// only a btmh magnet (the v2 info hash) and the gateway's tracker finds the seeder through the
// tracker's alias of the truncated v2 hash, fetches metadata, piece layers and bytes from it with
// the origin's media switched off, and is counted once, under the torrent's v1 hash.
func TestHybridByV2InfoHash(t *testing.T) {
	python := requireTool(t, "/usr/bin/python3", "-c", "import libtorrent")
	o := newOrigin(t, 1, 3<<20+777)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.setTorrentFormat("hybrid")
	g.start()
	feed := g.waitPublished("show", 1, 60*time.Second)
	o.serveMedia.Store(false)

	e := o.episodes[0]
	mi := fetchTorrent(t, torrentURLs(feed)[e.GUID])
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	if !info.HasV2() || len(mi.PieceLayers) != 1 {
		t.Fatalf("published torrent is not hybrid: v2 %v, %d piece layers", info.HasV2(), len(mi.PieceLayers))
	}
	v2 := sha256.Sum256(mi.InfoBytes)
	magnet := "magnet:?xt=urn:btmh:1220" + hex.EncodeToString(v2[:]) + "&tr=" + url.QueryEscape(g.baseURL()+"/announce")

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "testdata/lt_magnet.py", magnet, dir, "100").CombinedOutput()
	if err != nil {
		t.Fatalf("libtorrent by v2 hash: %v\n%s", err, out)
	}
	checkFile(t, filepath.Join(dir, info.Name), e.Body, "libtorrent (v2)")

	ih := mi.HashInfoBytes()
	g.waitDownloads(t, ih, 1, 30*time.Second, "scrape to count libtorrent under "+ih.HexString())
	g.stop()
}
