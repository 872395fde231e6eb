package feeds

import (
	"encoding/json"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const atomEncURL = "https://example.org/podcast/feed.xml"

// TestParseAtomEnclosures: an RSS item's atom:link rel="enclosure" (as
// Podlove writes them) and an Atom entry's link rel="enclosure" are media;
// a URL given both ways is one enclosure; rel="alternate" is not media.
func TestParseAtomEnclosures(t *testing.T) {
	type enc = Enclosure
	tests := []struct {
		file  string
		items [][]enc
		keys  []string
		extra []string // per item: a substring Extra must keep ("" for none)
		// notMedia is the last item's media-typed links that are not enclosures.
		notMedia []NotMediaLink
	}{
		{file: "podlove.rss",
			items: [][]enc{
				{{"https://example.org/media/pl001.mp3", "audio/mpeg", 1234567},
					{"https://example.org/podcast/media/pl001.opus", "audio/opus", 0}},
				{{"https://example.org/media/pl002.mp3", "audio/mpeg", 2345678}},
				{{"https://example.org/media/pl003.mp4", "video/mp4", 0},
					{"https://example.org/media/pl003.webm", "video/webm", 0}},
				nil,
			},
			keys:  []string{"guid:pl-001", "guid:pl-002", "url:https://example.org/media/pl003.mp4", "guid:pl-004"},
			extra: []string{`rel="alternate"`, "", "", `href="https://example.org/media/no-rel.mp3"`},
			notMedia: []NotMediaLink{{"alternate", "https://example.org/media/not-media.mp3", "audio/mpeg"},
				{"alternate", "https://example.org/media/no-rel.mp3", "audio/mpeg"},
				{" enclosure ", "https://example.org/media/padded.mp3", "audio/mpeg"}},
		},
		{file: "entries.atom",
			items: [][]enc{
				// A link's own xml:base counts; rel="Enclosure" is one too.
				{{"https://example.org/media/atom1.mp3", "audio/mpeg", 3456789},
					{"https://cdn.example.org/one/atom1.m4a", "audio/mp4", 4567890}},
				{{"https://example.org/atom/media/atom2.ogg", "audio/ogg", 0},
					{"https://example.org/media/atom2.mp3", "audio/mpeg", 0},
					{"https://cdn.example.org/two/atom2.opus", "audio/opus", 77}},
				nil,
			},
			keys: []string{"guid:urn:uuid:4b3a1c2e-0000-4000-8000-000000000002",
				"guid:urn:uuid:4b3a1c2e-0000-4000-8000-000000000003",
				"guid:urn:uuid:4b3a1c2e-0000-4000-8000-000000000004"},
			notMedia: []NotMediaLink{{"alternate", "https://example.org/media/not-media.mp3", "audio/mpeg"},
				{" enclosure ", "https://example.org/media/padded.mp3", "audio/mpeg"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := Parse(readTestdata(t, tt.file), atomEncURL)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Warnings) > 0 {
				t.Errorf("warnings: %q", f.Warnings)
			}
			if len(f.Items) != len(tt.items) {
				t.Fatalf("%d items, want %d", len(f.Items), len(tt.items))
			}
			for i, it := range f.Items {
				want := []NotMediaLink(nil)
				if i == len(f.Items)-1 {
					want = tt.notMedia
				}
				if !slices.Equal(it.NotMedia, want) {
					t.Errorf("item %d %q links not taken as media %v, want %v", i, it.Title, it.NotMedia, want)
				}
				if !slices.Equal(it.Enclosures, tt.items[i]) {
					t.Errorf("item %d %q enclosures\n got %v\nwant %v", i, it.Title, it.Enclosures, tt.items[i])
				}
				if !slices.Equal(it.MediaEnclosures(), tt.items[i]) {
					t.Errorf("item %d %q media enclosures %v", i, it.Title, it.MediaEnclosures())
				}
				if it.Key != tt.keys[i] {
					t.Errorf("item %d key %q, want %q", i, it.Key, tt.keys[i])
				}
				// A link made an enclosure is written by the publisher as
				// one; it must not also be copied through Extra.
				if strings.Contains(it.Extra, `rel="enclosure"`) {
					t.Errorf("item %d Extra keeps the enclosure link: %s", i, it.Extra)
				}
				if tt.extra != nil && tt.extra[i] != "" && !strings.Contains(it.Extra, tt.extra[i]) {
					t.Errorf("item %d Extra %q lacks %s", i, it.Extra, tt.extra[i])
				}
			}
		})
	}
}

// TestAtomEnclosuresAgreeWithFeedparser: Python's feedparser, an
// independent reader, takes the same links as enclosures (it lists a URL
// given twice twice; we keep one).
func TestAtomEnclosuresAgreeWithFeedparser(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import feedparser").Run(); err != nil {
		t.Skipf("%s has no feedparser: %v", py, err)
	}
	script := `import feedparser, json, sys
d = feedparser.parse(sys.argv[1])
print(json.dumps({"bozo": int(d.bozo), "encs": [[x.get("href", "") for x in e.get("enclosures", [])] for e in d.entries]}))`
	base, _ := url.Parse(atomEncURL)
	for _, file := range []string{"podlove.rss", "entries.atom"} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata", "atomenc", file)
			out, err := exec.Command(py, "-c", script, path).Output()
			if err != nil {
				t.Fatalf("feedparser: %v", err)
			}
			var res struct {
				Bozo int
				Encs [][]string
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("feedparser output %q: %v", out, err)
			}
			if res.Bozo != 0 {
				t.Errorf("feedparser bozo")
			}
			f, err := Parse(readTestdata(t, file), atomEncURL)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Encs) != len(f.Items) {
				t.Fatalf("feedparser saw %d entries, we %d", len(res.Encs), len(f.Items))
			}
			for i, it := range f.Items {
				// feedparser read a file, so it resolved only against
				// xml:base; resolve the rest as we do, against the feed URL.
				var want []string
				for _, h := range res.Encs[i] {
					ref, err := url.Parse(h)
					if err != nil {
						t.Fatal(err)
					}
					if u := base.ResolveReference(ref).String(); !slices.Contains(want, u) {
						want = append(want, u)
					}
				}
				var got []string
				for _, e := range it.Enclosures {
					got = append(got, e.URL)
				}
				if !slices.Equal(got, want) {
					t.Errorf("item %d %q: we take %v, feedparser %v", i, it.Title, got, want)
				}
			}
		})
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	return readFixture(t, filepath.Join("..", "..", "feeds", "testdata", "atomenc", name))
}

// A link repeated many times (a hostile or broken feed) is still one enclosure.
func TestParseAtomEnclosureRepeated(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>R</title><item><guid>r</guid>` +
		`<enclosure url="https://example.org/r.mp3" type="audio/mpeg" length="10"/>`)
	for range 20000 {
		b.WriteString(`<atom:link rel="enclosure" type="audio/mpeg" href="https://example.org/r.mp3"/>`)
	}
	for range 20000 {
		b.WriteString(`<atom:link rel="alternate" type="audio/mpeg" href="https://example.org/r.html"/>`)
	}
	b.WriteString(`<atom:link rel="enclosure" type="audio/ogg" href="https://example.org/r.ogg"/></item></channel></rss>`)
	f, err := Parse([]byte(b.String()), atomEncURL)
	if err != nil {
		t.Fatal(err)
	}
	want := []Enclosure{{"https://example.org/r.mp3", "audio/mpeg", 10}, {"https://example.org/r.ogg", "audio/ogg", 0}}
	if len(f.Items) != 1 || !slices.Equal(f.Items[0].Enclosures, want) {
		t.Fatalf("items %+v, want one with %v", f.Items, want)
	}
	if n := len(f.Items[0].NotMedia); n != maxNotMedia {
		t.Errorf("%d links noted as not media, want the first %d", n, maxNotMedia)
	}
}
