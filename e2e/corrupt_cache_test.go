package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCorruptPieceCacheDiscarded: a garbage piece completion DB is only a lost cache. serve
// starts, warns naming the file, re-hashes the published episode and goes on seeding it.
func TestCorruptPieceCacheDiscarded(t *testing.T) {
	o := newOrigin(t, 1, 1<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.start()
	g.waitPublished("show", 1, 60*time.Second)
	g.stop()

	db := filepath.Join(g.dataDir, "state", ".torrent.bolt.db")
	if err := os.WriteFile(db, bytes.Repeat([]byte("not a bolt db "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	g.start()
	waitFor(t, 30*time.Second, "the seeder to restore the episode, hashing it again", func() error {
		m := regexp.MustCompile(`seeding restored" torrents=(\d+) bytes_hashed=(\d+)`).FindStringSubmatch(g.logs.String())
		if m == nil {
			return fmt.Errorf("no restore line yet")
		}
		if m[1] != "1" || m[2] == "0" {
			return fmt.Errorf("restored %s torrents with %s bytes hashed, want 1 and more than 0", m[1], m[2])
		}
		return nil
	})
	var warned bool
	for _, l := range strings.Split(g.logs.String(), "\n") {
		if strings.Contains(l, "level=WARN") && strings.Contains(l, "piece completion discarded") &&
			strings.Contains(l, "file="+db) && strings.Contains(l, "corrupt") {
			warned = true
		}
	}
	if !warned {
		t.Fatalf("no warning naming %s as corrupt:\n%s", db, g.logs.String())
	}
	if _, err := os.Stat(db + ".corrupt"); err != nil {
		t.Errorf("the corrupt DB was not kept aside: %v", err)
	}

	waitFor(t, 10*time.Second, "/status to show the episode seeding", func() error {
		st, err := g.status()
		if err != nil {
			return err
		}
		if len(st) != 1 || st[0].Seeding != 1 {
			return fmt.Errorf("status = %+v", st)
		}
		return nil
	})
	f, _, err := g.outputFeed("show")
	if err != nil {
		t.Fatal(err)
	}
	urls := torrentURLs(f)
	u, ok := urls[o.episodes[0].GUID]
	if !ok {
		t.Fatalf("episode missing from the torrent feed after the restart: %v", urls)
	}

	// Only the seeder has the bytes now.
	o.serveMedia.Store(false)
	dir := t.TempDir()
	cl := seederOnlyClient(t, dir)
	defer cl.Close()
	mi := fetchTorrent(t, u)
	mi.UrlList = nil
	tor, err := addTorrent(cl, mi)
	if err != nil {
		t.Fatal(err)
	}
	tor.DownloadAll()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	select {
	case <-tor.Complete().On():
	case <-ctx.Done():
		t.Fatalf("download did not complete: %d/%d bytes", tor.BytesCompleted(), tor.Length())
	}
	got, err := os.ReadFile(mediaPath(dir, tor))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, o.episodes[0].Body) {
		t.Fatal("downloaded bytes differ from the episode")
	}
	cl.Close()
	g.stop()
}

// TestServeNamesWhatStopsTheSeeder: serve blames seedbox.peer_port only when the port is taken;
// an unusable state directory is named as such.
func TestServeNamesWhatStopsTheSeeder(t *testing.T) {
	serve := func(g *gateway) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, binary, "serve", "-config", g.cfgPath).CombinedOutput()
		if ctx.Err() != nil || err == nil {
			t.Fatalf("serve did not fail (%v):\n%s", err, out)
		}
		return lastLine(string(out))
	}

	g := newGateway(t)
	taken, err := net.Listen("tcp", fmt.Sprintf(":%d", g.peerPort))
	if err != nil {
		t.Fatal(err)
	}
	last := serve(g)
	taken.Close()
	if !strings.Contains(last, fmt.Sprintf("seedbox.peer_port %d: ", g.peerPort)) {
		t.Errorf("port in use: error does not name seedbox.peer_port:\n%s", last)
	}

	g = newGateway(t)
	state := filepath.Join(g.dataDir, "state")
	if err := os.WriteFile(state, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	last = serve(g)
	if strings.Contains(last, "peer_port") || !strings.Contains(last, state) {
		t.Errorf("state dir unusable: error names the port or not %s:\n%s", state, last)
	}
}
