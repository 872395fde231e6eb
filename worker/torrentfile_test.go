package worker

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
)

// A damaged .torrent is made again at start from the store and the media, byte for byte the
// same, and seeded; when the media no longer matches either, the episode is downloaded again.
func TestRestoreRebuildsDamagedTorrentFiles(t *testing.T) {
	for _, hybrid := range []bool{false, true} {
		t.Run(map[bool]string{false: "v1", true: "hybrid"}[hybrid], func(t *testing.T) { testRestoreRebuilds(t, hybrid) })
	}
}

func testRestoreRebuilds(t *testing.T, hybrid bool) {
	ctx := context.Background()
	bodies := map[string]string{"/a.mp3": strings.Repeat("a", 900000), "/b.mp3": strings.Repeat("b", 700000)}
	var srvURL string
	gets := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>T</title>
<item><guid>a</guid><title>A</title><enclosure url="%[1]s/a.mp3" length="900000" type="audio/mpeg"/></item>
<item><guid>b</guid><title>B</title><enclosure url="%[1]s/b.mp3" length="700000" type="audio/mpeg"/></item>
</channel></rss>`, srvURL)
	})
	for path, body := range bodies {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			gets++
			if path == "/b.mp3" {
				// No Content-Length: the piece length was chosen before the size was known.
				w.(http.Flusher).Flush()
			}
			w.Write([]byte(body))
		})
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	dir := t.TempDir()
	st := openTestStore(t, dir)
	w, seeder := startSeedingWorkerFormat(t, dir, st, "", hybrid)
	f := Feed{Slug: "t", URL: srv.URL + "/feed.xml"}
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	seeder.Close()
	ts, err := st.Torrents(ctx)
	if err != nil || len(ts) != 2 {
		t.Fatalf("torrents: %v %v", ts, err)
	}
	original := map[string][]byte{}
	for _, tr := range ts {
		b, err := os.ReadFile(filepath.Join(dir, tr.TorrentPath))
		if err != nil {
			t.Fatal(err)
		}
		original[tr.Key] = b
		mi, err := metainfo.Load(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		v2, isHybrid := seedbox.InfoHashV2(mi)
		if isHybrid != hybrid || (hybrid && tr.InfoHashV2 != hex.EncodeToString(v2[:])) || (!hybrid && tr.InfoHashV2 != "") {
			t.Fatalf("%s: hybrid %v, stored v2 hash %q; want hybrid %v", tr.Key, isHybrid, tr.InfoHashV2, hybrid)
		}
	}
	if mi, _ := metainfo.Load(bytes.NewReader(original["guid:b"])); mi == nil {
		t.Fatal("torrent b does not parse")
	} else if info, _ := mi.UnmarshalInfo(); info.PieceLength == 256<<10 {
		t.Fatal("torrent b has the piece length of a known size: the test no longer covers the other candidates")
	}

	damages := []struct {
		name   string
		damage func(path string, b []byte) error
	}{
		{"truncated", func(p string, b []byte) error { return os.WriteFile(p, b[:len(b)/2], 0o644) }},
		{"piece hash flipped", func(p string, b []byte) error {
			c := bytes.Clone(b)
			c[bytes.Index(c, []byte("6:pieces"))+20] ^= 0xff
			return os.WriteFile(p, c, 0o644)
		}},
		{"web seed flipped", func(p string, b []byte) error {
			// Outside the info dictionary: the info hash is unchanged, the file is not.
			c := bytes.Clone(b)
			c[bytes.Index(c, []byte("8:url-list"))+20] ^= 0x01
			return os.WriteFile(p, c, 0o644)
		}},
		{"gone", func(p string, b []byte) error { return os.Remove(p) }},
	}
	// forgetCopies stands for an installation from before the store kept .torrent files.
	forgetCopies := func(t *testing.T) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "seedcast.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DELETE FROM torrent_files"); err != nil {
			t.Fatal(err)
		}
	}
	for _, from := range []string{"store's copy", "media"} {
		for _, d := range damages {
			t.Run(from+"/"+d.name, func(t *testing.T) {
				if from == "media" {
					forgetCopies(t)
				}
				for _, tr := range ts {
					if err := d.damage(filepath.Join(dir, tr.TorrentPath), original[tr.Key]); err != nil {
						t.Fatal(err)
					}
				}
				w, seeder := startSeedingWorkerFormat(t, dir, st, "", hybrid)
				defer seeder.Close()
				if err := w.Restore(ctx); err != nil {
					t.Fatal(err)
				}
				for _, tr := range ts {
					got, err := os.ReadFile(filepath.Join(dir, tr.TorrentPath))
					if err != nil || !bytes.Equal(got, original[tr.Key]) {
						t.Errorf("%s: the torrent made again differs from the published one (%v)", tr.Key, err)
					}
				}
				if n := len(seeder.Stats().Torrents); n != 2 {
					t.Errorf("%d torrents seeded after the rebuild, want 2", n)
				}
				if pub, _ := st.Published(ctx, "t"); len(pub) != 2 {
					t.Errorf("%d episodes in the feed after the rebuild, want 2", len(pub))
				}
			})
		}
	}

	// An evicted torrent (media gone) with a damaged file: only the store's copy can restore it.
	var b store.Torrent
	for _, tr := range ts {
		if tr.Key == "guid:b" {
			b = tr
		}
	}
	w, seeder = startSeedingWorkerFormat(t, dir, st, "", hybrid)
	if err := w.Restore(ctx); err != nil { // keeps copies of the sound files in the store
		t.Fatal(err)
	}
	seeder.Close()
	if err := st.Evict(ctx, "t", "guid:b", time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, b.MediaPath)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, b.TorrentPath), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, seeder = startSeedingWorkerFormat(t, dir, st, "", hybrid)
	if err := w.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	seeder.Close()
	if got, _ := os.ReadFile(filepath.Join(dir, b.TorrentPath)); !bytes.Equal(got, original[b.Key]) {
		t.Fatal("the evicted torrent's damaged file was not restored from the store's copy")
	}

	// Both the torrent and the media damaged, and no copy in the store: nothing to make it again
	// from, so download again.
	forgetCopies(t)
	var a store.Torrent
	for _, tr := range ts {
		if tr.Key == "guid:a" {
			a = tr
		}
	}
	if err := os.Remove(filepath.Join(dir, a.TorrentPath)); err != nil {
		t.Fatal(err)
	}
	media := filepath.Join(dir, a.MediaPath)
	if err := os.WriteFile(media, []byte(strings.Repeat("x", 900000)), 0o644); err != nil {
		t.Fatal(err)
	}
	w, seeder = startSeedingWorkerFormat(t, dir, st, "", hybrid)
	defer seeder.Close()
	if err := w.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if e, _ := st.Episode(ctx, "t", "guid:a"); e.State != store.StatePending || !strings.Contains(e.Error, "no longer matches") {
		t.Fatalf("episode a: state %s, error %q; want pending, saying the media no longer matches", e.State, e.Error)
	}
	gets = 0
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if e, _ := st.Episode(ctx, "t", "guid:a"); e.State != store.StatePublished || e.InfoHash != a.InfoHash || gets != 1 {
		t.Fatalf("after the poll: state %s, info hash %s (was %s), %d downloads; want published again, same hash, 1",
			e.State, e.InfoHash, a.InfoHash, gets)
	}
}
