package e2e

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDamagedTorrentFileRebuilt damages a published .torrent on disk (half of it lost): the
// next start warns naming the file, makes it again byte for byte from the store and the media,
// serves that, and still seeds and tracks the torrent, which a client then downloads.
func TestDamagedTorrentFileRebuilt(t *testing.T) {
	o := newOrigin(t, 1, 300<<10)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.start()
	f := g.waitPublished("show", 1, 60*time.Second)
	var url string
	for _, u := range torrentURLs(f) {
		url = u
	}
	original := getBytes(t, url)
	g.stop()

	paths, err := filepath.Glob(filepath.Join(g.dataDir, "torrents", "*.torrent"))
	if err != nil || len(paths) != 1 {
		t.Fatalf("torrent files: %v %v", paths, err)
	}
	if err := os.WriteFile(paths[0], original[:len(original)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	g.start()
	logs := g.logs.String()
	if !strings.Contains(logs, "damaged torrent file") || !strings.Contains(logs, paths[0]) {
		t.Errorf("no warning naming %s:\n%s", paths[0], logs)
	}
	if got := getBytes(t, url); !bytes.Equal(got, original) {
		t.Fatalf("served %d bytes after the rebuild, want the %d published", len(got), len(original))
	}
	st, err := g.status()
	if err != nil || len(st) != 1 || st[0].Seeding != 1 {
		t.Fatalf("status after the rebuild: %+v %v", st, err)
	}
	mi := fetchTorrent(t, url)
	waitFor(t, 20*time.Second, "the tracker to list the seeder", func() error {
		complete, _, _, err := g.scrape(mi.HashInfoBytes())
		if err == nil && complete < 1 {
			err = errors.New("no seeder yet")
		}
		return err
	})
	downloadOnce(t, mi, o.episodes[0].Body)
}

func getBytes(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return b
}
