package worker

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seedcast/seedcast/publisher"
)

// Media given only as an Atom-style link rel="enclosure", in an RSS item (as
// Podlove writes it) or an Atom entry, is downloaded and published as a
// torrent like an <enclosure>: the torrent feed carries the torrent, the
// podcast feed the origin's URL. A URL given both ways is one torrent.
func TestAtomStyleEnclosuresArePublished(t *testing.T) {
	for _, tt := range []struct {
		name, feed string
	}{
		{"rss", `<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>P</title>
<item><guid isPermaLink="false">one</guid><title>Atom link only</title>
<atom:link rel="alternate" type="text/html" href="{o}/one.html"/>
<atom:link rel="enclosure" type="audio/mpeg" length="300000" href="{o}/one.mp3"/></item>
<item><guid isPermaLink="false">two</guid><title>Both</title>
<enclosure url="{o}/two.mp3" length="300000" type="audio/mpeg"/>
<atom:link rel="enclosure" type="audio/mpeg" length="300000" href="{o}/two.mp3"/></item>
</channel></rss>`},
		{"atom", `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>P</title><id>urn:x:feed</id>
<updated>2026-11-02T10:00:00Z</updated>
<entry><id>one</id><title>Atom link only</title><updated>2026-11-02T10:00:00Z</updated>
<link rel="alternate" type="text/html" href="{o}/one.html"/>
<link rel="enclosure" type="audio/mpeg" length="300000" href="{o}/one.mp3"/></entry>
<entry><id>two</id><title>Both</title><updated>2026-11-01T10:00:00Z</updated>
<link rel="enclosure" type="audio/mpeg" length="300000" href="{o}/two.mp3"/></entry>
</feed>`},
	} {
		t.Run(tt.name, func(t *testing.T) { testAtomStyleEnclosures(t, tt.feed) })
	}
}

func testAtomStyleEnclosures(t *testing.T, feedTmpl string) {
	ctx := context.Background()
	var gets atomic.Int32
	var feed string
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, feed) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".mp3") {
			http.NotFound(w, r)
			return
		}
		gets.Add(1)
		w.Write([]byte(strings.Repeat(r.URL.Path[1:2], 300000)))
	})
	origin := httptest.NewServer(mux)
	t.Cleanup(origin.Close)
	feed = strings.ReplaceAll(feedTmpl, "{o}", origin.URL)

	w, st, dir := newTestWorker(t)
	if err := w.Poll(ctx, Feed{Slug: "s", URL: origin.URL + "/feed.xml"}); err != nil {
		t.Fatal(err)
	}
	pub, err := st.Published(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if len(pub) != 2 {
		t.Fatalf("published %d rows, want 2 (one torrent per item): %+v", len(pub), pub)
	}
	for i, name := range []string{"one", "two"} {
		e := pub[i]
		if e.EnclosureURL != origin.URL+"/"+name+".mp3" || e.InfoHash == "" || e.MediaSize != 300000 || e.State != "published" {
			t.Fatalf("row %d = %+v; want %s.mp3 downloaded and published as a torrent", i, e, name)
		}
	}
	if n := gets.Load(); n != 2 {
		t.Fatalf("media downloaded %d times, want 2", n)
	}

	gwMux := http.NewServeMux()
	publisher.New(publisher.Config{PublicURL: "http://gw.example", DataDir: dir}, st, slog.New(slog.DiscardHandler)).Routes(gwMux)
	gw := httptest.NewServer(gwMux)
	t.Cleanup(gw.Close)
	torrentFeed := getFeed(t, gw.URL+"/feeds/s.rss")
	podcastFeed := getFeed(t, gw.URL+"/feeds/s/podcast.rss")
	for i, e := range pub {
		want := fmt.Sprintf("http://gw.example/torrents/%s.torrent", strings.ToLower(e.InfoHash))
		if got := enclosuresOf(t, torrentFeed, i); len(got) != 1 || got[0].URL != want || got[0].Type != "application/x-bittorrent" {
			t.Errorf("torrent feed item %d enclosures %+v, want one %s", i, got, want)
		}
		if got := enclosuresOf(t, podcastFeed, i); len(got) != 1 || got[0].URL != e.EnclosureURL || got[0].Type != "audio/mpeg" {
			t.Errorf("podcast feed item %d enclosures %+v, want one %s", i, got, e.EnclosureURL)
		}
	}
	// The source's enclosure link is not copied through: the torrent feed
	// must not hand out the origin's media URL as another enclosure.
	if strings.Contains(string(torrentFeed), `rel="enclosure"`) {
		t.Errorf("torrent feed keeps an Atom enclosure link:\n%s", torrentFeed)
	}
}

func getFeed(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return b
}

type outEnclosure struct {
	URL  string `xml:"url,attr"`
	Type string `xml:"type,attr"`
}

// enclosuresOf returns the <enclosure>s of the i-th item of an RSS document.
func enclosuresOf(t *testing.T, doc []byte, i int) []outEnclosure {
	t.Helper()
	var rss struct {
		Items []struct {
			Enclosures []outEnclosure `xml:"enclosure"`
		} `xml:"channel>item"`
	}
	if err := xml.Unmarshal(doc, &rss); err != nil {
		t.Fatalf("output feed: %v", err)
	}
	if i >= len(rss.Items) {
		t.Fatalf("output feed has %d items, want item %d:\n%s", len(rss.Items), i, doc)
	}
	return rss.Items[i].Enclosures
}
