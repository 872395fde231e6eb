package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// TestEndToEnd: origin feed in, gateway ingests, origin stops serving media,
// an independent anacrolix client with webseeds disabled downloads every
// episode from the gateway's seeder via the embedded tracker, bytes match,
// and the tracker's scrape counts each completion.
func TestEndToEnd(t *testing.T) {
	o := newOrigin(t, 3, 2<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.start()
	feed := g.waitPublished("show", 3, 60*time.Second)

	// The output feed keeps the source's metadata.
	if feed.Title != "Origin Show" || feed.ITunesExt == nil || feed.ITunesExt.Author != "Tester" {
		t.Fatalf("channel metadata lost: title %q itunes %+v", feed.Title, feed.ITunesExt)
	}
	_, raw, _ := g.outputFeed("show")
	if !strings.Contains(string(raw), "<podcast:guid>917393e3-1b1e-5cef-ace4-edaa54e1f810</podcast:guid>") {
		t.Fatalf("podcast:guid not kept:\n%s", raw)
	}

	o.serveMedia.Store(false) // from now on only the seeder has the bytes

	urls := torrentURLs(feed)
	dir := t.TempDir()
	cl := seederOnlyClient(t, dir)
	defer cl.Close()

	var hashes []metainfo.Hash
	for _, e := range o.episodes {
		u, ok := urls[e.GUID]
		if !ok {
			t.Fatalf("episode %s missing from output feed", e.GUID)
		}
		mi := fetchTorrent(t, u)
		info, err := mi.UnmarshalInfo()
		if err != nil {
			t.Fatal(err)
		}
		if info.PieceLength < 256<<10 {
			t.Errorf("piece length %d < 256 KiB", info.PieceLength)
		}
		if len(mi.UrlList) != 1 || !strings.HasPrefix(mi.UrlList[0], o.srv.URL+e.Path) {
			t.Errorf("url-list = %v, want the enclosure URL", mi.UrlList)
		}
		if len(mi.AnnounceList) < 2 || mi.AnnounceList[0][0] != g.baseURL()+"/announce" ||
			mi.AnnounceList[1][0] != fmt.Sprintf("udp://127.0.0.1:%d/announce", g.udpPort) {
			t.Errorf("announce-list = %v", mi.AnnounceList)
		}
		mi.UrlList = nil
		tor, err := addTorrent(cl, mi)
		if err != nil {
			t.Fatal(err)
		}
		tor.DownloadAll()
		hashes = append(hashes, tor.InfoHash())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for _, tor := range cl.Torrents() {
		select {
		case <-tor.Complete().On():
		case <-ctx.Done():
			t.Fatalf("download of %s did not complete: %d/%d bytes", tor.Name(), tor.BytesCompleted(), tor.Length())
		}
	}
	for _, e := range o.episodes {
		var found bool
		for _, tor := range cl.Torrents() {
			got, err := os.ReadFile(mediaPath(dir, tor))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(got, e.Body) {
				found = true
			}
		}
		if !found {
			t.Errorf("no downloaded file matches %s", e.Path)
		}
	}
	// Closing the client sends `stopped` with left=0: that is a completion.
	cl.Close()
	for _, ih := range hashes {
		g.waitDownloads(t, ih, 1, 30*time.Second, "scrape to count the completion of "+ih.HexString())
	}
	g.stop()
}

// seederOnlyClient is a fresh anacrolix client that can only download from
// peers the tracker hands out (no web seed, DHT, uTP or WebTorrent) and does
// not seed, so what it gets comes from the gateway's seeder. It writes into dir.
func seederOnlyClient(t *testing.T, dir string) *torrent.Client {
	t.Helper()
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = dir
	cfg.KeepAliveTimeout = 3 * time.Second // as seedbox.WriterWakeInterval: bounds a missed writer wake-up
	cfg.NoDHT = true
	cfg.DisableWebseeds = true
	cfg.DisableUTP = true
	cfg.ListenPort = 0
	cfg.NoDefaultPortForwarding = true
	cfg.DisableWebtorrent = true
	cfg.Seed = false
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
