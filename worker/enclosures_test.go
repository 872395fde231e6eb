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
