package publisher

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gorilla/feeds"
	"github.com/mmcdole/gofeed"

	sfeeds "github.com/seedcast/seedcast/feeds"
)

// With a WebSub hub and Podping configured, every flavour names the hub beside its self link
// (RSS and Atom: link rel="hub"; JSON Feed: hubs) and the RSS flavours say they use Podping; a
// source's own hub and podping tags are not copied (the example feed has a podping tag).
func TestPushTags(t *testing.T) {
	b, err := os.ReadFile(sharedFeeds + "/podcast-namespace/example.xml")
	if err != nil {
		t.Fatal(err)
	}
	pf, err := sfeeds.Parse(b, "https://example.org/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	f, eps := fromParsed("show", pf)
	const hub = "https://hub.example/websub"
	cfg := Config{PublicURL: publicURL, Hub: hub, Podping: true}
	ext := map[Flavour]string{TorrentRSS: "rss", PodcastRSS: "podcast.rss", Atom: "atom", JSON: "json"}
	for fl, e := range ext {
		out, _, err := render(cfg, fl, f, eps)
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "push."+e, out)
		self := publicURL + fl.Path("show")
		switch fl {
		case JSON:
			var jf feeds.JSONFeed
			if err := json.Unmarshal(out, &jf); err != nil {
				t.Fatal(err)
			}
			if jf.FeedUrl != self || len(jf.Hubs) != 1 || jf.Hubs[0].Type != "WebSub" || jf.Hubs[0].Url != hub {
				t.Errorf("json: feed_url %q hubs %+v", jf.FeedUrl, jf.Hubs)
			}
			continue
		case Atom:
			if err := strictWellFormed(out); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`<link href="` + self + `" rel="self"`, `<link href="` + hub + `" rel="hub">`} {
				if !strings.Contains(string(out), want) {
					t.Errorf("atom lacks %s", want)
				}
			}
			continue
		}
		if err := strictWellFormed(out); err != nil {
			t.Fatal(err)
		}
		doc := string(out)
		for _, want := range []string{`<atom:link href="` + self + `" rel="self" type="application/rss+xml">`,
			`<atom:link href="` + hub + `" rel="hub"></atom:link>`, `<podcast:podping usesPodping="true"></podcast:podping>`} {
			if !strings.Contains(doc, want) {
				t.Errorf("%s lacks %s", e, want)
			}
		}
		if n := strings.Count(doc, "podcast:podping "); n != 1 {
			t.Errorf("%s: %d podping tags, want ours only", e, n)
		}
		gf, err := gofeed.NewParser().ParseString(doc)
		if err != nil {
			t.Fatal(err)
		}
		if gf.FeedLink != self {
			t.Errorf("%s: gofeed reads the self link as %q", e, gf.FeedLink)
		}
	}
	// Without them, none of it.
	out, _, err := render(Config{PublicURL: publicURL}, TorrentRSS, f, eps)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), `rel="hub"`) || strings.Contains(string(out), "podping") {
		t.Error("hub or podping tags without push configured")
	}
}
