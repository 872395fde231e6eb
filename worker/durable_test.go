package worker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
)

// Media is published from the page cache and fsynced right after. A restart in the same boot
// (a process crash keeps the page cache) only syncs what was left unsynced, hashing nothing; a
// start after a reboot re-hashes it, keeps it when intact and downloads it again when the tail
// was lost with the page cache.
func TestPublishedBeforeSyncIsRehashedOnlyAfterReboot(t *testing.T) {
	ctx := context.Background()
	const size = 900000
	body := strings.Repeat("d", size)
	var srvURL string
	gets := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>D</title><item><guid>d1</guid><title>D1</title>
<enclosure url="%s/d1.mp3" length="%d" type="audio/mpeg"/></item></channel></rss>`, srvURL, size)
	})
	mux.HandleFunc("/d1.mp3", func(w http.ResponseWriter, r *http.Request) {
		gets++
		w.Write([]byte(body))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	dir := t.TempDir()
	st := openTestStore(t, dir)
	start := func(boot string) (*Worker, *seedbox.Seeder) { return startSeedingWorker(t, dir, st, boot) }
	unsynced := func() string {
		t.Helper()
		ts, err := st.Torrents(ctx)
		if err != nil || len(ts) != 1 {
			t.Fatalf("torrents: %v %v", ts, err)
		}
		return ts[0].UnsyncedBoot
	}
	// markUnsynced puts the store back to the moment between Publish and the fsync.
	markUnsynced := func(boot string) {
		t.Helper()
		e, err := st.Episode(ctx, "d", "guid:d1")
		if err != nil {
			t.Fatal(err)
		}
		err = st.Publish(ctx, "d", "guid:d1", store.Publication{InfoHash: e.InfoHash, TorrentPath: e.TorrentPath,
			TorrentSize: e.TorrentSize, MediaPath: e.MediaPath, MediaSize: e.MediaSize, SHA256: e.SHA256,
			At: e.PublishedAt, UnsyncedBoot: boot})
		if err != nil {
			t.Fatal(err)
		}
	}
	hashed := func(s *seedbox.Seeder) (n int64) {
		for _, ts := range s.Stats().Torrents {
			n += ts.BytesHashed
		}
		return n
	}

	w, seeder := start("boot-A")
	if err := w.Poll(ctx, Feed{Slug: "d", URL: srv.URL + "/feed.xml"}); err != nil {
		t.Fatal(err)
	}
	if b := unsynced(); b != "" {
		t.Fatalf("after publishing and syncing, unsynced_boot = %q", b)
	}
	seeder.Close()

	// Killed between Publish and the fsync, restarted in the same boot: synced, not hashed.
	markUnsynced("boot-A")
	w, seeder = start("boot-A")
	if err := w.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if b, h := unsynced(), hashed(seeder); b != "" || h != 0 {
		t.Fatalf("same boot: unsynced_boot %q, %d bytes hashed; want synced, 0 hashed", b, h)
	}
	seeder.Close()

	// After a reboot with the file intact: hashed once, kept, marked durable.
	markUnsynced("boot-A")
	w, seeder = start("boot-B")
	if err := w.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if b, h := unsynced(), hashed(seeder); b != "" || h != size {
		t.Fatalf("after reboot: unsynced_boot %q, %d bytes hashed; want synced, %d hashed", b, h, size)
	}
	if pub, _ := st.Published(ctx, "d"); len(pub) != 1 {
		t.Fatal("an intact file left the feed")
	}
	seeder.Close()

	// After a reboot that lost the tail of the file (zeros where the page cache was).
	markUnsynced("boot-B")
	e, _ := st.Episode(ctx, "d", "guid:d1")
	media := filepath.Join(dir, e.MediaPath)
	f, err := os.OpenFile(media, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 4096), size-4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	w, seeder = start("boot-C")
	defer seeder.Close()
	w.Restore(ctx) // the damage is handled (requeued), not an error of the restore
	if pub, _ := st.Published(ctx, "d"); len(pub) != 0 {
		t.Fatal("a file that lost its tail is still in the feed")
	}
	if n := len(seeder.Stats().Torrents); n != 0 {
		t.Fatalf("a file that lost its tail is seeded (%d torrents)", n)
	}
	if err := w.Poll(ctx, Feed{Slug: "d", URL: srv.URL + "/feed.xml"}); err != nil {
		t.Fatal(err)
	}
	after, _ := st.Episode(ctx, "d", "guid:d1")
	if after.State != store.StatePublished || after.InfoHash != e.InfoHash || gets != 2 {
		t.Fatalf("after re-fetch: state %s hash %s (was %s), %d GETs", after.State, after.InfoHash, e.InfoHash, gets)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, after.MediaPath)); string(got) != body {
		t.Fatal("re-fetched file is not the origin's")
	}
}
