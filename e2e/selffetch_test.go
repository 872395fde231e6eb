package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestGatewayNeverFetchesItself: a subscribed feed whose "enclosures" are the
// gateway's own /announce (directly, or through an external redirect) would
// make the gateway announce from its own address and mint downloads; a feed
// URL that is the gateway's own output feed would loop. Each is refused with
// an error naming the URL, and the tracker counts nothing.
func TestGatewayNeverFetchesItself(t *testing.T) {
	o := newOrigin(t, 1, 300_000)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	ownFeed := g.baseURL() + "/feeds/show.rss"
	cfg, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = fmt.Appendf(cfg, "  - slug: loop\n    url: %s\n", ownFeed)
	if err := os.WriteFile(g.cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	g.start()
	f := g.waitPublished("show", 1, 60*time.Second)
	var ih string
	for _, u := range torrentURLs(f) {
		mi := fetchTorrent(t, u)
		ih = urlEscapeBytes(mi.HashInfoBytes().Bytes())
		defer func() {
			_, _, downloaded, err := g.scrape(mi.HashInfoBytes())
			if err != nil || downloaded != 0 {
				t.Errorf("scrape after the refused announces: downloaded %d, %v; want 0", downloaded, err)
			}
		}()
	}

	query := func(peer string, left int, event string) string {
		return fmt.Sprintf("info_hash=%s&peer_id=-XX0001-%s&port=6999&uploaded=0&downloaded=0&left=%d&compact=1%s",
			ih, peer, left, event)
	}
	// A stranger's URL that redirects to the gateway's tracker.
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, g.baseURL()+"/announce?"+r.URL.RawQuery, http.StatusFound)
	}))
	defer redirect.Close()
	enclosures := []string{
		g.baseURL() + "/announce?" + query("aaaaaaaaaaaa", 1000, ""),
		g.baseURL() + "/announce?" + query("aaaaaaaaaaaa", 0, "&event=completed"),
		redirect.URL + "/ep.mp3?" + query("bbbbbbbbbbbb", 1000, ""),
		redirect.URL + "/ep.mp3?" + query("bbbbbbbbbbbb", 0, "&event=completed"),
	}
	feed := o.feed()
	var items strings.Builder
	for i, u := range enclosures {
		fmt.Fprintf(&items, `<item><title>Bogus %d</title><guid>bogus-%d</guid><enclosure url="%s" length="1000" type="audio/mpeg"/></item>`+"\n",
			i, i, xmlEscape(u))
	}
	o.feedBody.Store(strings.Replace(feed, "</channel>", items.String()+"</channel>", 1))

	// The first poll runs at start.
	g.stop()
	g.start()
	waitFor(t, 60*time.Second, "the bogus episodes to fail and the looping feed to be refused", func() error {
		st, err := g.status()
		if err != nil {
			return err
		}
		var show, loop *feedStatus
		for i := range st {
			switch st[i].Slug {
			case "show":
				show = &st[i]
			case "loop":
				loop = &st[i]
			}
		}
		if show == nil || loop == nil {
			return fmt.Errorf("status lists %+v", st)
		}
		if len(show.Failed) != len(enclosures) {
			return fmt.Errorf("show: %d failed, want %d: %+v", len(show.Failed), len(enclosures), show.Failed)
		}
		for _, fl := range show.Failed {
			if !strings.Contains(fl.Error, "served by this gateway itself") || !strings.Contains(fl.Error, "info_hash=") {
				t.Fatalf("episode error %q should say the URL is the gateway's own and name it", fl.Error)
			}
		}
		if !strings.Contains(loop.LastError, "served by this gateway itself") || !strings.Contains(loop.LastError, ownFeed) ||
			!strings.Contains(loop.LastError, "feed loop") {
			return fmt.Errorf("loop feed error %q should name the feed and its URL", loop.LastError)
		}
		return nil
	})
	if f := g.waitPublished("show", 1, 10*time.Second); len(torrentURLs(f)) != 1 {
		t.Fatalf("show lists %d torrents, want only the real episode's", len(torrentURLs(f)))
	}
}
