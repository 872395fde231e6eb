package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestAria2Magnet: aria2c given only a btih magnet and the gateway's tracker fetches the metadata
// from the seeder and completes (origin media off), and is counted once. aria2 announces left=0
// while it has no metadata, so the tracker must hand a "seeder" other seeders too.
func TestAria2Magnet(t *testing.T) {
	aria2 := requireTool(t, "aria2c", "--version")
	o := newOrigin(t, 1, 3<<20+777)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	// Debian's aria2 1.36 computes another info hash for a hybrid's metadata (aria2 issue 1903).
	g.setTorrentFormat("v1")
	g.start()
	feed := g.waitPublished("show", 1, 60*time.Second)
	o.serveMedia.Store(false)
	e := o.episodes[0]
	mi := fetchTorrent(t, torrentURLs(feed)[e.GUID])
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	ih := mi.HashInfoBytes()
	magnet := "magnet:?xt=urn:btih:" + ih.HexString() + "&tr=" + url.QueryEscape(g.baseURL()+"/announce")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, aria2, "--seed-time=0", "--enable-dht=false", "--enable-dht6=false",
		"--bt-enable-lpd=false", "--enable-peer-exchange=false", "--file-allocation=none",
		"--bt-save-metadata=false", "--bt-tracker-connect-timeout=10", "--bt-stop-timeout=60",
		"--summary-interval=0", "--listen-port="+fmt.Sprint(freePort(t)), "--dir="+dir, magnet).CombinedOutput()
	if err != nil {
		t.Fatalf("aria2c by magnet: %v\n%s", err, out)
	}
	checkFile(t, filepath.Join(dir, info.Name), e.Body, "aria2c (magnet)")
	g.waitDownloads(t, ih, 1, 30*time.Second, "scrape to count aria2 once")
	g.stop()
}
