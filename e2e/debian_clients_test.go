package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// requireTool finds a Debian peer client. CI sets SEEDCAST_REQUIRE_PEERS=1 so
// a missing client fails there instead of silently skipping.
func requireTool(t *testing.T, name string, check ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil && len(check) > 0 {
		err = exec.Command(path, check...).Run()
	}
	if err != nil {
		if os.Getenv("SEEDCAST_REQUIRE_PEERS") != "" {
			t.Fatalf("%s is required (install the Debian package): %v", name, err)
		}
		t.Skipf("%s not available: %v", name, err)
	}
	return path
}

// TestDebianClients: aria2c and libtorrent download every episode from the
// gateway's seeder (origin media switched off), aria2c via the embedded HTTP
// tracker, libtorrent via the HTTP tracker and, for one episode, via the UDP
// tracker only; scrape then counts both completions of every episode.
func TestDebianClients(t *testing.T) {
	aria2 := requireTool(t, "aria2c", "--version")
	python := requireTool(t, "/usr/bin/python3", "-c", "import libtorrent")

	o := newOrigin(t, 3, 3<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	// Debian's aria2 (1.36) drops the empty key of a hybrid's file tree and so computes another
	// info hash: it joins v1 torrents only (aria2 issue 1903, fixed after 1.36.0).
	g.setTorrentFormat("v1")
	g.start()
	feed := g.waitPublished("show", 3, 60*time.Second)
	o.serveMedia.Store(false)

	urls := torrentURLs(feed)
	dir := t.TempDir()
	for i, e := range o.episodes {
		mi := fetchTorrent(t, urls[e.GUID])
		ih := mi.HashInfoBytes()
		info, err := mi.UnmarshalInfo()
		if err != nil {
			t.Fatal(err)
		}
		// No webseeds: every byte must come from the seeder.
		mi.UrlList = nil
		full := filepath.Join(dir, fmt.Sprintf("ep%d.torrent", i))
		writeTorrent(t, full, mi)

		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		ariaDir := filepath.Join(dir, fmt.Sprintf("aria2-%d", i))
		cmd := exec.CommandContext(ctx, aria2, "--seed-time=0", "--enable-dht=false", "--enable-dht6=false",
			"--bt-enable-lpd=false", "--enable-peer-exchange=false", "--file-allocation=none",
			"--bt-tracker-connect-timeout=10", "--bt-stop-timeout=60", "--summary-interval=0",
			"--listen-port="+fmt.Sprint(freePort(t)), "--dir="+ariaDir, full)
		if out, err := cmd.CombinedOutput(); err != nil {
			cancel()
			t.Fatalf("aria2c episode %d: %v\n%s", i+1, err, out)
		}
		checkFile(t, filepath.Join(ariaDir, info.Name), e.Body, "aria2c")

		// libtorrent: the last episode through the UDP tracker alone.
		ltTorrent := full
		if i == len(o.episodes)-1 {
			udpOnly := *mi
			udpOnly.Announce = fmt.Sprintf("udp://127.0.0.1:%d/announce", g.udpPort)
			udpOnly.AnnounceList = [][]string{{udpOnly.Announce}}
			ltTorrent = filepath.Join(dir, fmt.Sprintf("ep%d-udp.torrent", i))
			writeTorrent(t, ltTorrent, &udpOnly)
		}
		ltDir := filepath.Join(dir, fmt.Sprintf("lt-%d", i))
		os.MkdirAll(ltDir, 0o755)
		cmd = exec.CommandContext(ctx, python, "testdata/lt_download.py", ltTorrent, ltDir, "100")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("libtorrent episode %d: %v\n%s", i+1, err, out)
		}
		checkFile(t, filepath.Join(ltDir, info.Name), e.Body, "libtorrent")

		g.waitDownloads(t, ih, 2, 30*time.Second, "scrape to count aria2c and libtorrent for "+ih.HexString())
	}
	g.stop()
}

func writeTorrent(t *testing.T, path string, mi *metainfo.MetaInfo) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := mi.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func checkFile(t *testing.T, path string, want []byte, who string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %s differs from the origin's bytes (%d vs %d bytes)", who, path, len(got), len(want))
	}
}
