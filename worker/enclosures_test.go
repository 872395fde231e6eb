package worker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// An item with two enclosures gets a torrent for each under the same item,
// an item without one is published as it is, and an enclosure whose declared
// length changes gets a new torrent while the old one keeps seeding.
func TestEnclosuresEachGetATorrentAndChangesSupersede(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	mp3 := strings.Repeat("a", 300000)
	var srvURL string
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>Multi</title>
<item><guid>a</guid><title>Two files</title>
<enclosure url="%[1]s/cover.jpg" length="1000" type="image/jpeg"/>
<enclosure url="%[1]s/a.mp3" length="%[2]d" type="audio/mpeg"/></item>
<item><guid>b</guid><title>Words only</title><description>No audio here.</description></item>
</channel></rss>`, srvURL, len(mp3))
	})
	mux.HandleFunc("/a.mp3", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Write([]byte(mp3))
	})
	mux.HandleFunc("/cover.jpg", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 1000)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	w, st, _ := newTestWorker(t)
	f := Feed{Slug: "m", URL: srv.URL + "/feed.xml"}
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	pub, err := st.Published(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(pub) != 3 {
		t.Fatalf("published %d rows, want 3 (two enclosures of a, and b): %+v", len(pub), pub)
	}
	// The audio is the primary enclosure even though the cover came first.
	if pub[0].ItemKey != "guid:a" || pub[0].EnclosureIndex != 0 || !strings.HasSuffix(pub[0].EnclosureURL, "/a.mp3") ||
		pub[1].ItemKey != "guid:a" || pub[1].EnclosureIndex != 1 || !strings.HasSuffix(pub[1].EnclosureURL, "/cover.jpg") {
		t.Fatalf("rows of item a = %+v / %+v", pub[0], pub[1])
	}
	if pub[0].InfoHash == "" || pub[1].InfoHash == "" || pub[0].InfoHash == pub[1].InfoHash {
		t.Fatalf("each enclosure needs its own torrent: %q %q", pub[0].InfoHash, pub[1].InfoHash)
	}
	if pub[2].Key != "guid:b" || pub[2].InfoHash != "" {
		t.Fatalf("enclosure-less item = %+v", pub[2])
	}
	oldHash := pub[0].InfoHash

	// The podcaster replaces the audio under the same GUID.
	mu.Lock()
	mp3 = strings.Repeat("b", 310000)
	mu.Unlock()
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	pub, _ = st.Published(ctx, "m")
	if len(pub) != 3 || pub[0].InfoHash == oldHash || pub[0].MediaSize != 310000 {
		t.Fatalf("after the change, published = %+v; want a new torrent of 310000 bytes", pub[0])
	}
	ts, _ := st.Torrents(ctx)
	var oldSeeding bool
	for _, tor := range ts {
		oldSeeding = oldSeeding || tor.InfoHash == oldHash
	}
	if len(ts) != 3 || !oldSeeding {
		t.Fatalf("torrents = %+v; the old one must keep seeding beside the two current ones", ts)
	}
	// Its file is untouched: the new media went to a new file.
	media := map[string]bool{}
	for _, tor := range ts {
		if media[tor.MediaPath] {
			t.Fatalf("two torrents share the file %s", tor.MediaPath)
		}
		media[tor.MediaPath] = true
	}
}

// A file replaced at the origin under the same URL and declared length is
// noticed by a conditional HEAD when the feed next changes: it gets a new
// torrent. An unchanged file answers 304 and is not downloaded again.
func TestReplacedFileAtOriginGetsNewTorrent(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	body, etag, items := strings.Repeat("1", 200000), `"v1"`, 1
	gets := 0
	var srvURL string
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprint(w, `<rss version="2.0"><channel><title>E</title>`)
		for i := items; i >= 1; i-- {
			fmt.Fprintf(w, `<item><guid>g%d</guid><title>T%d</title><enclosure url="%s/ep%d.mp3" length="200000" type="audio/mpeg"/></item>`,
				i, i, srvURL, i)
		}
		fmt.Fprint(w, `</channel></rss>`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		b, tag := body, etag
		if r.URL.Path != "/ep1.mp3" {
			b, tag = strings.Repeat("x", 200000), `"other"`
		}
		if r.Method == http.MethodGet {
			gets++
		}
		mu.Unlock()
		w.Header().Set("ETag", tag)
		if r.Header.Get("If-None-Match") == tag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if r.Method == http.MethodGet {
			w.Write([]byte(b))
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	w, st, _ := newTestWorker(t)
	f := Feed{Slug: "e", URL: srv.URL + "/feed.xml"}
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	first, _ := st.Episode(ctx, "e", "guid:g1")
	if first.MediaETag != `"v1"` {
		t.Fatalf("stored validator %q, want \"v1\"", first.MediaETag)
	}

	// The feed gains an episode; ep1 is unchanged: a 304, no new download.
	mu.Lock()
	items = 2
	mu.Unlock()
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.Episode(ctx, "e", "guid:g1"); again.InfoHash != first.InfoHash || gets != 2 {
		t.Fatalf("unchanged file: hash %s -> %s, %d GETs (want 2: ep1 once, ep2 once)", first.InfoHash, again.InfoHash, gets)
	}

	// The podcaster replaces ep1's file (same length) and the feed changes.
	mu.Lock()
	body, etag, items = strings.Repeat("2", 200000), `"v2"`, 3
	mu.Unlock()
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	now, _ := st.Episode(ctx, "e", "guid:g1")
	if now.InfoHash == first.InfoHash || now.MediaETag != `"v2"` || now.State != "published" {
		t.Fatalf("replaced file: episode %+v; want a new torrent with validator v2", now)
	}
	ts, _ := st.Torrents(ctx)
	var oldSeeds bool
	for _, tor := range ts {
		oldSeeds = oldSeeds || tor.InfoHash == first.InfoHash
	}
	if !oldSeeds {
		t.Fatal("the old torrent should keep seeding until retention removes it")
	}
}
