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

	"github.com/seedcast/seedcast/store"
)

// A seeded file altered on disk without changing its size is caught by the
// scheduled verification: it stops being served, leaves the feed, and the
// next poll downloads it again with the same torrent.
func TestVerifyAllCatchesAlteredFile(t *testing.T) {
	ctx := context.Background()
	var srvURL string
	gets := 0
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>V</title><item><guid>v1</guid><title>V1</title>
<enclosure url="%s/v1.mp3" length="600000" type="audio/mpeg"/></item></channel></rss>`, srvURL)
	})
	mux.HandleFunc("/v1.mp3", func(w http.ResponseWriter, r *http.Request) {
		gets++
		w.Write([]byte(strings.Repeat("v", 600000)))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	w, st, seeder, dir := newSeedingWorker(t)
	f := Feed{Slug: "v", URL: srv.URL + "/feed.xml"}
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Episode(ctx, "v", "guid:v1")

	// An intact file passes.
	if err := w.VerifyAll(ctx); err != nil {
		t.Fatal(err)
	}
	if pub, _ := st.Published(ctx, "v"); len(pub) != 1 {
		t.Fatal("an intact file was taken out of the feed")
	}

	// Flip one byte in the middle, same size.
	path := filepath.Join(dir, before.MediaPath)
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.VerifyAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(seeder.Stats().Torrents); n != 0 {
		t.Fatalf("the damaged torrent is still seeded (%d torrents)", n)
	}
	if pub, _ := st.Published(ctx, "v"); len(pub) != 0 {
		t.Fatal("the damaged episode is still in the feed")
	}
	if e, _ := st.Episode(ctx, "v", "guid:v1"); !strings.Contains(e.Error, "failed piece verification") {
		t.Fatalf("status does not say why: %q", e.Error)
	}

	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	after, _ := st.Episode(ctx, "v", "guid:v1")
	if after.State != store.StatePublished || after.InfoHash != before.InfoHash || gets != 2 {
		t.Fatalf("after re-fetch: state %s hash %s (was %s), %d GETs", after.State, after.InfoHash, before.InfoHash, gets)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, after.MediaPath)); string(got) != strings.Repeat("v", 600000) {
		t.Fatal("re-fetched file is not the origin's")
	}
	if n := len(seeder.Stats().Torrents); n != 1 {
		t.Fatalf("re-fetched torrent not seeded: %d torrents", n)
	}
}
