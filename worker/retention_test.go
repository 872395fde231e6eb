package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
)

// Retention keeps seeding the newest episodes within the feed's bounds; the
// rest leave the seeder and the disk but stay in the feed.
func TestRetention(t *testing.T) {
	for _, tc := range []struct {
		name      string
		r         Retention
		wantSeeds int
	}{
		{"keep newest 2", Retention{KeepEpisodes: 2}, 2},
		{"at most 1.5 episodes of bytes", Retention{MaxBytes: 300000 + 150000}, 1},
		{"both, the tighter wins", Retention{KeepEpisodes: 2, MaxBytes: 350000}, 1},
		{"no bounds", Retention{}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var srvURL string
			mux := http.NewServeMux()
			mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `<rss version="2.0"><channel><title>R</title>`)
				for i := 1; i <= 3; i++ {
					fmt.Fprintf(w, `<item><guid>e%d</guid><title>E%d</title><pubDate>Mon, 0%d Nov 2026 10:00:00 +0000</pubDate>
<enclosure url="%s/e%d.mp3" length="300000" type="audio/mpeg"/></item>`, i, i, i, srvURL, i)
				}
				fmt.Fprint(w, `</channel></rss>`)
			})
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(strings.Repeat(r.URL.Path[1:3], 150000)))
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			srvURL = srv.URL

			w, st, seeder, dir := newSeedingWorker(t)
			if err := w.Poll(ctx, Feed{Slug: "r", URL: srv.URL + "/feed.xml", Retention: tc.r}); err != nil {
				t.Fatal(err)
			}

			if n := len(seeder.Stats().Torrents); n != tc.wantSeeds {
				t.Fatalf("seeder has %d torrents, want %d", n, tc.wantSeeds)
			}
			seeded, _ := st.Seeded(ctx, "r")
			if len(seeded) != tc.wantSeeds {
				t.Fatalf("store says %d seeded, want %d", len(seeded), tc.wantSeeds)
			}
			// The newest (by date) are the ones kept.
			for i, e := range seeded {
				if want := fmt.Sprintf("guid:e%d", 3-i); e.Key != want {
					t.Fatalf("seeded[%d] = %s, want %s", i, e.Key, want)
				}
			}
			pub, _ := st.Published(ctx, "r")
			if len(pub) != 3 {
				t.Fatalf("evicted episodes must stay in the feed: %d published", len(pub))
			}
			files, _ := filepath.Glob(filepath.Join(dir, "media", "r", "*"))
			if len(files) != tc.wantSeeds {
				t.Fatalf("media files on disk %v, want %d", files, tc.wantSeeds)
			}
			for _, e := range pub {
				_, err := os.Stat(filepath.Join(dir, e.MediaPath))
				if e.EvictedAt.IsZero() != (err == nil) {
					t.Fatalf("%s: evicted=%v but file exists=%v", e.Key, !e.EvictedAt.IsZero(), err == nil)
				}
			}
		})
	}
}

// newSeedingWorker is a worker with a real SQLite store and a real seeder on
// loopback, all in one temporary data directory.
func newSeedingWorker(t *testing.T) (*Worker, store.Store, *seedbox.Seeder, string) {
	t.Helper()
	dir := t.TempDir()
	st := openTestStore(t, dir)
	w, seeder := startSeedingWorker(t, dir, st, "")
	t.Cleanup(func() { seeder.Close() })
	return w, st, seeder, dir
}

// startSeedingWorker is one run of the process on dir and st: a new seeder on dir's state and a
// worker in OS boot boot. The caller closes the seeder.
func startSeedingWorker(t *testing.T, dir string, st store.Store, boot string) (*Worker, *seedbox.Seeder) {
	t.Helper()
	return startSeedingWorkerFormat(t, dir, st, boot, false)
}

// startSeedingWorkerFormat is startSeedingWorker making hybrid torrents when hybrid is set.
func startSeedingWorkerFormat(t *testing.T, dir string, st store.Store, boot string, hybrid bool) (*Worker, *seedbox.Seeder) {
	t.Helper()
	seeder, err := seedbox.NewSeeder(seedbox.SeederConfig{ListenAddr: "127.0.0.1:0",
		StateDir: filepath.Join(dir, "state"), DisableUTP: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	w := New(Config{DataDir: dir, AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}}, BootID: boot, Hybrid: hybrid},
		st, Clients{Feed: c, Media: c, MaxFeed: 1 << 20}, seeder, nil, slog.New(slog.DiscardHandler))
	return w, seeder
}
