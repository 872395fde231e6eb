package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/tracker"
)

// Two nodes on one store and one tracker. With two replicas, the node that did not download an
// episode replicates it from the other's seeder (the origin sees one download) and seeds it; with
// one replica it is no longer assigned, keeps seeding for the grace period, then drops it and its
// media.
func TestReconcileReplicatesFromTheSwarm(t *testing.T) {
	ctx := context.Background()
	body := strings.Repeat("replica", 300000)
	var srvURL string
	var mediaGets atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>R</title><item><guid>r1</guid><title>R1</title>
<enclosure url="%s/r1.mp3" length="%d" type="audio/mpeg"/></item></channel></rss>`, srvURL, len(body))
	})
	mux.HandleFunc("/r1.mp3", func(w http.ResponseWriter, r *http.Request) {
		mediaGets.Add(1)
		w.Write([]byte(body))
	})
	origin := httptest.NewServer(mux)
	defer origin.Close()
	srvURL = origin.URL

	dir := t.TempDir()
	st0, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st0.Close()
	trk := tracker.New(tracker.Config{AnnouncesPerIPPerMinute: -1, MaxDownloadRate: 1 << 40, AnnounceInterval: 2 * time.Second},
		st0, slog.New(slog.DiscardHandler), nil)
	tmux := http.NewServeMux()
	tmux.Handle("GET /announce", trk.AnnounceHandler())
	trackerSrv := httptest.NewServer(tmux)
	defer trackerSrv.Close()

	type node struct {
		w      *Worker
		seeder *seedbox.Seeder
		dir    string
	}
	start := func(name string, replicas int) node {
		st, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		nd := filepath.Join(dir, name)
		seeder, err := seedbox.NewSeeder(seedbox.SeederConfig{ListenAddr: "127.0.0.1:0",
			StateDir: filepath.Join(nd, "state"), DisableUTP: true}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { seeder.Close() })
		c := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second})
		w := New(Config{DataDir: nd, AnnounceList: [][]string{{trackerSrv.URL + "/announce"}}, NodeName: name,
			LeaseTTL: time.Minute, Replicas: replicas, UnassignedGrace: time.Hour},
			st, Clients{Feed: c, Media: c, MaxFeed: 1 << 20}, seeder, trk, slog.New(slog.DiscardHandler))
		if err := w.Heartbeat(ctx); err != nil {
			t.Fatal(err)
		}
		return node{w, seeder, nd}
	}
	a := start("a", 2)
	if err := a.w.Poll(ctx, Feed{Slug: "r", URL: origin.URL + "/feed.xml"}); err != nil {
		t.Fatal(err)
	}
	b := start("b", 2)
	// Not past b's disk floor: nothing replicated, and the error says why.
	b.w.cfg.MinFreeBytes = 1 << 62
	if err := b.w.Reconcile(ctx); !errors.Is(err, ErrDiskFloor) {
		t.Fatalf("reconcile under the disk floor: %v, want ErrDiskFloor", err)
	}
	if n := len(b.seeder.Stats().Torrents); n != 0 {
		t.Fatalf("b seeds %d torrents under its disk floor", n)
	}
	b.w.cfg.MinFreeBytes = 0
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := b.w.Reconcile(rctx); err != nil {
		t.Fatal(err)
	}
	e, err := st0.Episode(ctx, "r", "guid:r1")
	if err != nil || e.State != store.StatePublished {
		t.Fatalf("episode: %+v, %v", e, err)
	}
	got, err := os.ReadFile(filepath.Join(b.dir, e.MediaPath))
	if err != nil || !bytes.Equal(got, []byte(body)) {
		t.Fatalf("b's replica: %d bytes, %v; want the origin's %d", len(got), err, len(body))
	}
	if n := mediaGets.Load(); n != 1 {
		t.Fatalf("the origin served the media %d times, want once (b replicated from a)", n)
	}
	if n := len(b.seeder.Stats().Torrents); n != 1 {
		t.Fatalf("b seeds %d torrents, want 1", n)
	}
	// A node's copy is not a listener's download: the replica never announced with bytes left.
	ih, err := infoHash(e.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := trk.Stats(ih); !ok || st.Downloaded != 0 || st.Incomplete != 0 {
		t.Fatalf("tracker after b replicated: %+v (tracked %v), want no download and no leecher", st, ok)
	}

	// One replica now: the maker a keeps it, b drops it after the grace period.
	b.w.cfg.Replicas = 1
	clock := time.Now()
	b.w.now = func() time.Time { return clock }
	if err := b.w.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(b.seeder.Stats().Torrents); n != 1 {
		t.Fatal("b stopped seeding before the grace period ended")
	}
	clock = clock.Add(time.Hour)
	b.w.Heartbeat(ctx) // still alive at the new time
	a.w.now = b.w.now
	a.w.Heartbeat(ctx)
	if err := b.w.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(b.seeder.Stats().Torrents); n != 0 {
		t.Fatalf("b still seeds %d torrents after the grace period", n)
	}
	if _, err := os.Stat(filepath.Join(b.dir, e.MediaPath)); !os.IsNotExist(err) {
		t.Fatalf("b's media after the grace period: %v, want removed", err)
	}
	if n := len(a.seeder.Stats().Torrents); n != 1 {
		t.Fatalf("the maker seeds %d torrents, want 1", n)
	}
}
