package feeds

import (
	"strings"
	"testing"
)

// A source's WebSub hub and self links are read, resolved, from RSS (atom:link, any prefix) and
// Atom (link), and left out of Extra with its Podping tag: the output writes its own.
func TestParseHubAndSelf(t *testing.T) {
	for name, c := range map[string]struct{ doc, hub, self string }{
		"rss": {`<rss version="2.0" xmlns:a="http://www.w3.org/2005/Atom" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>T</title><a:link rel="hub" href="https://hub.example/"/><a:link rel="hub" href="https://second.example/"/>
<a:link rel="self" href="/feed.xml" type="application/rss+xml"/><a:link rel="payment" href="https://pay.example/"/>
<podcast:podping usesPodping="true"/><item><title>i</title><guid>g</guid></item></channel></rss>`,
			"https://hub.example/", "https://origin.example/feed.xml"},
		"atom": {`<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>
<link rel="self" href="https://origin.example/atom"/><link rel="HUB" href="http://hub.example/ws"/>
<entry><title>e</title><id>urn:e</id><updated>2024-01-01T00:00:00Z</updated></entry></feed>`,
			"http://hub.example/ws", "https://origin.example/atom"},
		"none": {`<rss version="2.0"><channel><title>T</title><item><title>i</title><guid>g</guid></item></channel></rss>`, "", ""},
	} {
		f, err := Parse([]byte(c.doc), "https://origin.example/path/feed")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.Hub != c.hub || f.Self != c.self {
			t.Errorf("%s: hub %q self %q; want %q %q", name, f.Hub, f.Self, c.hub, c.self)
		}
		for _, gone := range []string{`rel="hub"`, `rel="self"`, "podping"} {
			if strings.Contains(f.Extra, gone) {
				t.Errorf("%s: Extra keeps %s: %s", name, gone, f.Extra)
			}
		}
		if name == "rss" && !strings.Contains(f.Extra, `rel="payment"`) {
			t.Errorf("rss: another atom:link was dropped: %s", f.Extra)
		}
	}
}
