package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	anatracker "github.com/anacrolix/torrent/tracker"
)

// TestDownloadAcrossRestartCounts: a listener starts a download, the gateway
// is restarted (SIGTERM, start), and the listener's completion announce after
// the restart is counted: the tracker's swarms outlive the restart.
func TestDownloadAcrossRestartCounts(t *testing.T) {
	o := newOrigin(t, 1, 1<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.start()
	feed := g.waitPublished("show", 1, 60*time.Second)
	ih := fetchTorrent(t, torrentURLs(feed)[o.episodes[0].GUID]).HashInfoBytes()

	var id [20]byte
	copy(id[:], "-LS0001-listener0001")
	announce := func(left int64, ev anatracker.AnnounceEvent) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := anatracker.Announce{TrackerUrl: g.baseURL() + "/announce", Context: ctx,
			Request: anatracker.AnnounceRequest{InfoHash: ih, PeerId: id, Left: left, Event: ev, Port: 51413, NumWant: -1}}.Do()
		if err != nil {
			t.Fatal(err)
		}
	}
	announce(1<<20, anatracker.Started)
	g.stop()
	g.start()
	waitFor(t, 30*time.Second, "the gateway to serve its tracker again", func() error {
		_, _, _, err := g.scrape(ih)
		return err
	})
	if !strings.Contains(g.logs.String(), "restored tracker peers") {
		t.Fatalf("no restored tracker peers in the log:\n%s", g.logs.String())
	}
	announce(0, anatracker.Completed)
	_, _, downloaded, err := g.scrape(ih)
	if err != nil || downloaded != 1 {
		t.Fatalf("downloaded = %d (%v) after a download that straddled a restart, want 1", downloaded, err)
	}
	g.stop()
}
