package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDHTMagnetOnly: libtorrent, given a magnet with nothing but the info hash (no tracker, no
// web seed) and a DHT bootstrapped only to the gateway's own DHT node on 127.0.0.1:peer_port,
// fetches the metadata and the whole episode from the seeder, with the origin's media switched
// off.
func TestDHTMagnetOnly(t *testing.T) {
	python := requireTool(t, "/usr/bin/python3", "-c", "import libtorrent")
	o := newOrigin(t, 1, 2<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	// The DHT on, bootstrapped to nobody: the seeder's node waits for libtorrent to contact it.
	cfg, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	on := strings.Replace(string(cfg), "  dht: false\n", "  dht: true\n  dht_bootstrap: []\n", 1)
	if on == string(cfg) {
		t.Fatal("harness config has no `dht: false` line")
	}
	if err := os.WriteFile(g.cfgPath, []byte(on), 0o644); err != nil {
		t.Fatal(err)
	}
	g.start()
	feed := g.waitPublished("show", 1, 60*time.Second)
	o.serveMedia.Store(false)
	e := o.episodes[0]
	mi := fetchTorrent(t, torrentURLs(feed)[e.GUID])
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}

	magnet := "magnet:?xt=urn:btih:" + mi.HashInfoBytes().HexString()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "testdata/lt_dht_download.py", magnet, dir, "90",
		"127.0.0.1:"+strconv.Itoa(g.peerPort)).CombinedOutput()
	if err != nil {
		t.Fatalf("libtorrent over the DHT: %v\n%s\ngateway:\n%s", err, out, g.logs.String())
	}
	checkFile(t, filepath.Join(dir, info.Name), e.Body, "libtorrent")
	for _, line := range strings.Split(g.logs.String(), "\n") {
		if strings.Contains(line, "dht") && (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")) {
			t.Errorf("gateway logged %s", line)
		}
	}
	g.stop()
}
