package worker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/report"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/tracker"
)

// The test of the bandwidth figures: a swarm of the gateway's seeder, held to an upload
// limit, and three real anacrolix leechers that know each other, so they also serve each other.
// The tracker counts three downloads (each leecher is its own listener, at its own address
// through a trusted proxy); the bytes the store records for the seeder are its own counters,
// also after it closes and a new process starts seeding again; the report's delivered bytes are
// the size times three, and the listeners' share is above zero.
func TestListenerShareOfASwarmMatchesTheSeeder(t *testing.T) {
	ctx := context.Background()
	const size = 3<<20 + 123
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(rand.Uint32())
	}
	mux := http.NewServeMux()
	var originURL string
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>B</title><item><guid>b1</guid><title>B1</title>
<enclosure url="%s/b1.mp3" length="%d" type="audio/mpeg"/></item></channel></rss>`, originURL, size)
	})
	mux.HandleFunc("/b1.mp3", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	origin := httptest.NewServer(mux)
	defer origin.Close()
	originURL = origin.URL

	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	trk := tracker.New(tracker.Config{AnnouncesPerIPPerMinute: -1, MaxDownloadRate: 1 << 40, AnnounceInterval: 2 * time.Second,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, st, slog.New(slog.DiscardHandler), nil)
	tmux := http.NewServeMux()
	tmux.Handle("GET /announce", trk.AnnounceHandler())
	// Listener n announces through a "proxy" naming it 127.0.0.n, the address it listens on.
	tmux.HandleFunc("GET /via/{n}/announce", func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Forwarded-For", "127.0.0."+r.PathValue("n"))
		trk.AnnounceHandler().ServeHTTP(w, r)
	})
	trackerSrv := httptest.NewServer(tmux)
	defer trackerSrv.Close()

	newSeeder := func() *seedbox.Seeder {
		s, err := seedbox.NewSeeder(seedbox.SeederConfig{ListenAddr: "127.0.0.1:0", StateDir: filepath.Join(dir, "state"),
			DisableUTP: true, UploadRateLimit: 1 << 20}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	c := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	newWorker := func(s *seedbox.Seeder) *Worker {
		return New(Config{DataDir: dir, AnnounceList: [][]string{{trackerSrv.URL + "/announce"}}, NodeName: "a"},
			st, Clients{Feed: c, Media: c, MaxFeed: 1 << 20}, s, trk, slog.New(slog.DiscardHandler))
	}
	seeder := newSeeder()
	if err := newWorker(seeder).Poll(ctx, Feed{Slug: "bw", URL: origin.URL + "/feed.xml"}); err != nil {
		t.Fatal(err)
	}
	ep, err := st.Episode(ctx, "bw", "guid:b1")
	if err != nil || ep.InfoHash == "" || ep.MediaSize != size {
		t.Fatalf("episode = %+v, %v; want it published", ep, err)
	}
	mi, err := metainfo.LoadFromFile(filepath.Join(dir, ep.TorrentPath))
	if err != nil {
		t.Fatal(err)
	}
	ih := mi.HashInfoBytes()

	leechers := make([]*torrent.Client, 3)
	dirs := make([]string, 3)
	for i := range leechers {
		n := strconv.Itoa(i + 2)
		cfg := torrent.NewDefaultClientConfig()
		cfg.DataDir = t.TempDir()
		cfg.KeepAliveTimeout = seedbox.WriterWakeInterval // see its comment: a missed writer wake-up
		cfg.Seed = true                                   // serve the others after completing too
		cfg.NoDHT, cfg.DisableWebseeds, cfg.DisableWebtorrent, cfg.DisableUTP, cfg.DisableIPv6 = true, true, true, true, true
		cfg.NoDefaultPortForwarding = true
		cfg.ListenHost = func(string) string { return "127.0.0." + n }
		cfg.ListenPort = 0
		cfg.Slogger = slog.New(slog.DiscardHandler)
		cl, err := torrent.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		leechers[i], dirs[i] = cl, cfg.DataDir
	}
	tors := make([]*torrent.Torrent, 3)
	// join starts leecher i's download; it knows the other leechers whatever the tracker hands
	// out (the tracker gives it the seeder).
	join := func(i int) {
		own := *mi
		own.UrlList = nil // the web seed is not a peer: only the swarm serves them
		own.Announce = ""
		own.AnnounceList = [][]string{{fmt.Sprintf("%s/via/%d/announce", trackerSrv.URL, i+2)}}
		tor, err := leechers[i].AddTorrent(&own)
		if err != nil {
			t.Fatal(err)
		}
		for j, other := range leechers {
			if j != i {
				tor.AddPeers([]torrent.PeerInfo{{Addr: torrent.StringAddr(fmt.Sprintf("127.0.0.%d:%d", j+2, other.LocalPort()))}})
			}
		}
		tor.DownloadAll()
		tors[i] = tor
	}
	deadline := time.After(90 * time.Second)
	complete := func(i int) {
		t.Helper()
		select {
		case <-tors[i].Complete().On():
		case <-deadline:
			t.Fatalf("leecher %d did not complete: %d of %d bytes", i, tors[i].BytesCompleted(), tors[i].Length())
		}
		got, err := os.ReadFile(filepath.Join(dirs[i], tors[i].Files()[0].Path()))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("leecher %d got %d bytes (%v), not the episode", i, len(got), err)
		}
	}
	// Two leechers download together (from the seeder and each other), then serve the third,
	// much faster than the seeder's limit.
	join(0)
	join(1)
	complete(0)
	complete(1)
	join(2)
	complete(2)
	var peerBytes int64 // what the leechers sent each other
	// Closing a client sends `stopped` with nothing left: its completion.
	for i, cl := range leechers {
		ts := tors[i].Stats()
		peerBytes += ts.BytesWrittenData.Int64()
		cl.Close()
	}
	waitUntil(t, "three counted downloads", func() bool {
		n, err := st.CompletionCount(ctx, ep.InfoHash)
		return err == nil && n == 3
	})

	uploads := NewUploads("a", seeder, st, slog.New(slog.DiscardHandler))
	// A write that fails adds nothing, and what it would have added goes with the next one.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := uploads.Flush(cancelled); err == nil {
		t.Fatal("a flush with a cancelled context succeeded")
	}
	if got, err := st.FeedSeederUploads(ctx, "bw"); err != nil || len(got) != 0 {
		t.Fatalf("after a failed flush the store has %v, %v; want nothing", got, err)
	}
	if err := uploads.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := seeder.Close(); err != nil { // no more bytes go out: the counters are final
		t.Fatal(err)
	}
	if err := uploads.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	sent := seeder.Uploaded()[ih]
	recorded, err := st.FeedSeederUploads(ctx, "bw")
	if err != nil || recorded[ep.InfoHash] != sent || sent == 0 {
		t.Fatalf("store has %v (%v), the seeder's counter says %d", recorded, err, sent)
	}
	if sent+peerBytes < 3*size {
		t.Fatalf("seeder %d + leechers %d bytes sent, less than the 3 × %d the leechers got", sent, peerBytes, size)
	}
	// A restart: a new process seeds the torrent again; its counters start at zero, and the
	// store keeps what the first one sent, neither lost nor added twice.
	seeder2 := newSeeder()
	if err := newWorker(seeder2).Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(seeder2.Stats().Torrents); n != 1 {
		t.Fatalf("after the restart the seeder seeds %d torrents, want 1", n)
	}
	if err := NewUploads("a", seeder2, st, slog.New(slog.DiscardHandler)).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if after, _ := st.FeedSeederUploads(ctx, "bw"); after[ep.InfoHash] != sent+seeder2.Uploaded()[ih] {
		t.Fatalf("after a restart the store has %d, want %d + what the new seeder sent (%d)", after[ep.InfoHash], sent, seeder2.Uploaded()[ih])
	}

	rep, err := report.Load(ctx, st, "bw", trackerSrv.URL+"/announce", 0.05, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := rep.Bandwidth
	wantShare := 1 - float64(b.SeedboxBytes)/float64(3*size)
	if b.DeliveredBytes != 3*size || b.SeedboxBytes != sent+seeder2.Uploaded()[ih] || b.ListenerShare <= 0 || b.ListenerShare != wantShare {
		t.Fatalf("report bandwidth = %+v; want %d delivered, the seeder's %d, share %v > 0", b, 3*size, sent, wantShare)
	}
	if e := rep.Episodes[0]; e.Downloads != 3 || e.Bandwidth != b.Bandwidth {
		t.Fatalf("episode = %d downloads, %+v; want 3 and the feed's figures", e.Downloads, e.Bandwidth)
	}
	t.Logf("seeder sent %d bytes, leechers %d to each other, of %d delivered: listener share %.3f", sent, peerBytes, 3*size, b.ListenerShare)
}

// waitUntil polls cond until it holds, failing the test after a deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
