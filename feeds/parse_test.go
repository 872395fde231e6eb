package feeds

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const fixtures = "../testdata/feeds"

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFixtures(t *testing.T) {
	const feedURL = "https://example.org/podcast/feed.xml"
	type enc = Enclosure
	tests := []struct {
		file      string
		title     string
		author    string
		image     string
		items     int
		itemTitle string // first item
		guid      string // first item
		permaLink bool
		key       string // first item
		encs      []enc  // first item
		published time.Time
	}{
		{file: "podcast-namespace/example.xml", title: "Podcasting 2.0 Namespace Example",
			author: "john@example.com (John Doe)", image: "https://example.com/images/pci_avatar-massive.jpg", items: 3,
			itemTitle: "Episode 3 - The Future", guid: "https://example.com/ep0003", permaLink: true,
			key: "guid:https://example.com/ep0003",
			// The enclosure, then each podcast:alternateEnclosure rendition
			// (each becomes a torrent; the repeat of the enclosure is merged
			// by MediaEnclosures).
			encs: []enc{{"https://example.com/file-03.mp3", "audio/mpeg", 43200000},
				{"https://example.com/file-03.mp3", "audio/mpeg", 43200000},
				{"https://example.com/file-high-03.opus", "audio/opus", 32400000},
				{"https://example.com/file-proprietary-03.aac", "audio/aac", 54000000},
				{"https://example.com/file-low-03.opus", "audio/opus", 5400000},
				{"https://example.com/file-720.mp4", "video/mp4", 7924786}},
			published: time.Date(2020, 10, 9, 4, 30, 38, 0, time.UTC)},
		{file: "podcastparser/simple.rss", title: "Podcast", items: 1, itemTitle: "Episode",
			key:  "url:https://example.org/example.mp3",
			encs: []enc{{"http://example.org/example.mp3", "", 0}}},
		{file: "podcastparser/relative.rss", items: 1, itemTitle: "Episode",
			key:  "url:https://example.org/podcast/example.mp3",
			encs: []enc{{"https://example.org/podcast/example.mp3", "", 0}}},
		{file: "podcastparser/leading_space_url.rss", items: 1, itemTitle: "Episode",
			key:  "url:https://example.com/example.mp3",
			encs: []enc{{"http://example.com/example.mp3", "", 0}}},
		{file: "podcastparser/multi_enclosures.rss", title: "Foo", items: 1, itemTitle: "Bar",
			key:  "url:https://cdn.example.org/foo.mp3",
			encs: []enc{{"http://cdn.example.org/foo.mp3", "audio/mpeg", 28413787}}},
		{file: "podcastparser/image_and_audio.rss", title: "Podcast", items: 1, itemTitle: "Episode",
			guid: "episode::x", permaLink: true, key: "guid:episode::x",
			encs: []enc{{"http://example.org/coverart.jpg", "image/jpeg", 0}, {"http://example.net/audio.mp3", "audio/mpeg", 0}}},
		{file: "podcastparser/no_permalink.rss", title: "Podcast", items: 1, itemTitle: "Episode",
			guid: "episode/1/", permaLink: false, key: "guid:episode/1/",
			encs: []enc{{"http://example.org/example.mp3", "", 0}}},
		{file: "podcastparser/no_title_multi_enclosure.rss", items: 1, guid: "episode::1", permaLink: true,
			key:  "guid:episode::1",
			encs: []enc{{"http://example.com/test.mp3", "audio/mpeg", 4000000}, {"http://example.com/test.ogg", "audio/ogg", 3000000}}},
		{file: "podcastparser/no_enclosure.rss", items: 3, itemTitle: "A",
			key: "url:https://example.org/podcast/test.mp3", encs: []enc{{"https://example.org/podcast/test.mp3", "", 0}}},
		{file: "podcastparser/itunes_type.rss", title: "HTML Podcast with ITunes type", items: 2, itemTitle: "Episode 2",
			key: "url:https://example.org/example2.mp3", encs: []enc{{"http://example.org/example2.mp3", "", 0}}},
		{file: "podcastparser/itunes_author.rss", author: "Charlie Dorsett"},
		{file: "podcastparser/relative_cover.rss", image: "https://example.org/podcast/cover.jpg"},
		{file: "podcastparser/atom_relative_cover.rss", image: "https://example.org/favicon.ico"},
		{file: "podcastparser/atom_published_updated.rss", title: "Example Feed", author: "John Doe", items: 1,
			itemTitle: "Atom-Powered Robots Run Amok", guid: "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
			key:       "guid:urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
			published: time.Date(2003, 12, 13, 18, 30, 2, 0, time.UTC)},
		{file: "feedparser/encoding__euc-kr.xml", title: "\ub144"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := Parse(readFixture(t, tt.file), feedURL)
			if err != nil {
				t.Fatal(err)
			}
			if f.Title != tt.title || f.Author != tt.author || f.ImageURL != tt.image || len(f.Items) != tt.items {
				t.Fatalf("got title %q author %q image %q items %d", f.Title, f.Author, f.ImageURL, len(f.Items))
			}
			if tt.items == 0 {
				return
			}
			it := f.Items[0]
			if it.Title != tt.itemTitle || it.GUID != tt.guid || it.GUIDIsPermaLink != tt.permaLink || it.Key != tt.key {
				t.Errorf("item: title %q guid %q perma %v key %q", it.Title, it.GUID, it.GUIDIsPermaLink, it.Key)
			}
			if !tt.published.IsZero() && !it.Published.Equal(tt.published) {
				t.Errorf("published %v, want %v", it.Published, tt.published)
			}
			if len(it.Enclosures) != len(tt.encs) {
				t.Fatalf("enclosures %+v, want %+v", it.Enclosures, tt.encs)
			}
			for i := range tt.encs {
				if it.Enclosures[i] != tt.encs[i] {
					t.Errorf("enclosure %d: %+v, want %+v", i, it.Enclosures[i], tt.encs[i])
				}
			}
		})
	}
}

func TestParsePodcastNamespace(t *testing.T) {
	f, err := Parse(readFixture(t, "podcast-namespace/example.xml"), "https://example.com/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	if f.PodcastGUID != "y0ur-gu1d-g035-h3r3" || !f.Locked {
		t.Errorf("guid %q locked %v", f.PodcastGUID, f.Locked)
	}
	for _, want := range []string{
		`<podcast:locked owner="podcastowner@example.com">yes</podcast:locked>`,
		`<itunes:category text="News"><itunes:category text="Tech News"></itunes:category></itunes:category>`,
		`<itunes:owner><itunes:name>John Doe</itunes:name><itunes:email>johndoe@example.com</itunes:email></itunes:owner>`,
		`<itunes:image href="https://example.com/images/pci_avatar-massive.jpg"></itunes:image>`,
		`<podcast:value type="lightning" method="keysend" suggested="0.00000005000"><podcast:valueRecipient name="podcaster"`,
	} {
		if !strings.Contains(f.Extra, want) {
			t.Errorf("channel Extra lacks %s", want)
		}
	}
	if strings.Contains(f.Extra, "podcast:guid") {
		t.Errorf("channel Extra holds podcast:guid")
	}
	it := f.Items[0].Extra
	for _, want := range []string{
		`<podcast:person role="guest" href="https://github.com/daveajones/" img="https://example.com/images/davejones.jpg">Dave Jones</podcast:person>`,
		`<podcast:transcript url="https://example.com/ep3/transcript.txt" type="text/plain"></podcast:transcript>`,
		`<podcast:chapters url="https://example.com/ep3_chapters.json" type="application/json"></podcast:chapters>`,
		`<itunes:explicit>false</itunes:explicit>`,
	} {
		if !strings.Contains(it, want) {
			t.Errorf("item Extra lacks %s", want)
		}
	}
	// The source's renditions become enclosures (and torrents): the
	// publisher writes their alternateEnclosures, so Extra has none.
	if strings.Contains(it, "<podcast:alternateEnclosure ") || strings.Contains(it, "<enclosure") {
		t.Errorf("item Extra: want no alternateEnclosure and no enclosure: %s", it)
	}
	if n := len(f.Items[0].MediaEnclosures()); n != 5 {
		t.Errorf("MediaEnclosures: %d renditions, want 5 (the repeat of the enclosure merged)", n)
	}
	// What apps choose renditions by is kept for each.
	if got := f.Items[0].RenditionAttrs["https://example.com/file-720.mp4"]; got != "bitrate=511276.52&height=720&title=Video+version" {
		t.Errorf("rendition attributes of the video = %q", got)
	}
	// Source order is kept.
	if strings.Index(it, "itunes:image") > strings.Index(it, "podcast:person") {
		t.Errorf("item Extra out of order: %s", it)
	}
}

// TestParseNamespacePrefixes checks that elements are recognised by
// namespace URI whatever prefix the feed declared, and that foreign
// namespaces and hostile values are written back well-formed.
func TestParseNamespacePrefixes(t *testing.T) {
	const feed = `<?xml version="1.0"?>
<rss version="2.0" xmlns:it="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:pod="https://podcastindex.org/namespace/1.0"
     xmlns:itunes="http://example.com/not-itunes" xmlns:x="urn:x">
<channel xml:base="https://cdn.example.net/base/">
  <title>Prefixes &amp; bases</title>
  <pod:guid> 917393e3-1b1e-5cef-ace4-edaa54e1f810 </pod:guid>
  <pod:locked owner="a@b">Yes</pod:locked>
  <it:author>A &amp; B "quoted" &lt;tag&gt;</it:author>
  <it:image href="cover.jpg?a=1&amp;b=2"/>
  <it:new-feed-url>https://elsewhere.example/feed</it:new-feed-url>
  <itunes:author>not itunes</itunes:author>
  <pod:funding url="https://x/?a=&quot;1&quot;" x:attr="dropped">Give <x:b>now</x:b> &amp; often</pod:funding>
  <item>
    <title>Ep</title>
    <guid isPermaLink="false">ep-1</guid>
    <it:duration>1:00</it:duration>
    <pod:alternateEnclosure type="audio/mpeg"><pod:source uri="a.mp3"/></pod:alternateEnclosure>
    <enclosure url="ep1.mp3" length="12 MB" type=" audio/mpeg "/>
    <enclosure xml:base="https://other.example/dir/" url="ep1.ogg" length="-5" type="audio/ogg"/>
  </item>
</channel>
</rss>`
	f, err := Parse([]byte(feed), "https://example.org/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "Prefixes & bases" || f.PodcastGUID != "917393e3-1b1e-5cef-ace4-edaa54e1f810" || !f.Locked {
		t.Errorf("title %q guid %q locked %v", f.Title, f.PodcastGUID, f.Locked)
	}
	if f.Author != `A & B "quoted" <tag>` || f.ImageURL != "https://cdn.example.net/base/cover.jpg?a=1&b=2" {
		t.Errorf("author %q image %q", f.Author, f.ImageURL)
	}
	if f.NewFeedURL != "https://elsewhere.example/feed" || strings.Contains(f.Extra, "new-feed-url") {
		t.Errorf("new-feed-url %q, Extra %s", f.NewFeedURL, f.Extra)
	}
	wantExtra := `<podcast:locked owner="a@b">Yes</podcast:locked>` +
		`<itunes:author>A &amp; B &#34;quoted&#34; &lt;tag&gt;</itunes:author>` +
		`<itunes:image href="cover.jpg?a=1&amp;b=2"></itunes:image>` +
		`<author xmlns="http://example.com/not-itunes">not itunes</author>` +
		`<podcast:funding xmlns:ns1="urn:x" url="https://x/?a=&#34;1&#34;" ns1:attr="dropped">Give <b xmlns="urn:x">now</b> &amp; often</podcast:funding>`
	if f.Extra != wantExtra {
		t.Errorf("Extra\n got %s\nwant %s", f.Extra, wantExtra)
	}
	it := f.Items[0]
	if it.Extra != `<itunes:duration>1:00</itunes:duration>` || it.GUIDIsPermaLink || it.Key != "guid:ep-1" {
		t.Errorf("item %+v", it)
	}
	want := []Enclosure{
		{"https://cdn.example.net/base/ep1.mp3", "audio/mpeg", 0},
		{"https://other.example/dir/ep1.ogg", "audio/ogg", 0},
		{"https://cdn.example.net/base/a.mp3", "audio/mpeg", 0}, // the alternateEnclosure rendition
	}
	if len(it.Enclosures) != 3 || it.Enclosures[0] != want[0] || it.Enclosures[1] != want[1] || it.Enclosures[2] != want[2] {
		t.Errorf("enclosures %+v, want %+v", it.Enclosures, want)
	}
}

// TestParseAllFixtures parses every fixture: each must parse or return an
// error, never panic, and what parses must give well-formed Extra fragments
// and per-item data that lines up with gofeed's items.
func TestParseAllFixtures(t *testing.T) {
	var files []string
	for _, dir := range []string{"podcastparser", "feedparser", "podcast-namespace"} {
		m, err := filepath.Glob(filepath.Join(fixtures, dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 200 {
		t.Fatalf("only %d fixtures found", len(files))
	}
	parsed := 0
	for _, fn := range files {
		b, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(b, "https://example.org/feed.xml")
		if err != nil {
			if !strings.Contains(err.Error(), "https://example.org/feed.xml") {
				t.Errorf("%s: error does not name the feed: %v", fn, err)
			}
			continue
		}
		parsed++
		checkFeed(t, fn, f)
		norm, _ := Normalize(b, "")
		sc, err := scan(norm, "")
		if err != nil {
			t.Fatalf("%s: scan: %v", fn, err)
		}
		if n := len(sc.items()); n != len(f.Items) {
			t.Errorf("%s: scan found %d items, gofeed %d", fn, n, len(f.Items))
		}
	}
	if parsed < len(files)*9/10 {
		t.Errorf("only %d of %d fixtures parsed", parsed, len(files))
	}
}

// checkFeed asserts the invariants every parsed feed must satisfy.
func checkFeed(t *testing.T, name string, f *Feed) {
	t.Helper()
	if err := wellFormed(f.Extra); err != nil {
		t.Errorf("%s: channel Extra: %v\n%s", name, err, f.Extra)
	}
	for i, it := range f.Items {
		if err := wellFormed(it.Extra); err != nil {
			t.Errorf("%s: item %d Extra: %v\n%s", name, i, err, it.Extra)
		}
		if it.Key == "" {
			t.Errorf("%s: item %d has no key", name, i)
		}
		for _, e := range it.Enclosures {
			if e.URL == "" || e.Length < 0 {
				t.Errorf("%s: item %d bad enclosure %+v", name, i, e)
			}
		}
	}
}

// wellFormed parses an Extra fragment strictly, inside a root that declares
// the prefixes the publisher declares, and refuses unbound prefixes.
func wellFormed(fragment string) error {
	root := "<root"
	for p, uri := range rootPrefixes {
		root += ` xmlns:` + p + `="` + uri + `"`
	}
	d := xml.NewDecoder(strings.NewReader(root + ">" + fragment + `</root>`))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			// encoding/xml leaves an unbound prefix as the Space; a bound
			// one becomes its URI.
			if se.Name.Space != "" && !strings.Contains(se.Name.Space, ":") {
				return errors.New("unbound prefix " + se.Name.Space)
			}
			for _, a := range se.Attr {
				if a.Name.Space != "" && a.Name.Space != "xmlns" && !strings.Contains(a.Name.Space, ":") {
					return errors.New("unbound attribute prefix " + a.Name.Space)
				}
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, body := range []string{"", "not xml at all", "<html><body>hi</body></html>", "<rss><channel><title>x"} {
		_, err := Parse([]byte(body), "https://example.org/f.xml")
		if err == nil {
			continue // gofeed is lenient with some truncation; no panic is what matters
		}
		var pe *ParseError
		if !strings.HasPrefix(err.Error(), "feeds: parse https://example.org/f.xml: ") || !errors.As(err, &pe) {
			t.Errorf("%q: error %v, want a *ParseError", body, err)
		}
	}
	if _, err := Parse(nil, "https://example.org/f.xml"); err == nil {
		t.Error("empty body parsed")
	}
	deep := "<rss><channel><item><itunes:a>" + strings.Repeat("<b>", 1<<20)
	if _, err := Parse([]byte(deep), "https://example.org/f.xml"); !errors.Is(err, errTooDeep) {
		t.Errorf("deep nesting: got %v, want errTooDeep", err)
	}
}
