package publisher

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/seedcast/seedcast/feeds"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/worker"
)

const sharedFeeds = "../testdata/feeds"

// fromParsed turns a parsed feed into what the store holds once every item
// is published (worker.Episodes: a row per enclosure), with made-up but
// deterministic torrent data. Items without an enclosure have no info hash.
func fromParsed(slug string, pf *feeds.Feed) (store.Feed, []store.Episode) {
	f := store.Feed{
		Slug: slug, URL: "https://example.org/feed.xml", Title: pf.Title, Link: pf.Link,
		Description: pf.Description, Language: pf.Language, Copyright: pf.Copyright, Author: pf.Author,
		ImageURL: pf.ImageURL, PodcastGUID: pf.PodcastGUID, Extra: pf.Extra, UpdatedAt: t0,
	}
	// The rows the worker would store, with made-up but deterministic
	// torrent data standing in for the downloads.
	eps := worker.Episodes(pf)
	for i := range eps {
		e := &eps[i]
		e.FeedSlug, e.State = slug, store.StatePublished
		e.PublishedAt = t0.Add(time.Duration(e.Position) * time.Minute)
		if e.EnclosureURL == "" {
			continue
		}
		ih := sha1.Sum([]byte(e.Key))
		sum := sha256.Sum256([]byte(e.Key))
		e.InfoHash = hex.EncodeToString(ih[:])
		e.SHA256 = hex.EncodeToString(sum[:])
		e.TorrentSize = 300 + int64(e.Position)
		e.MediaSize = e.EnclosureLength
	}
	return f, eps
}

// parsedFixtures returns every fixture that parses, by relative name.
func parsedFixtures(t *testing.T) map[string]*feeds.Feed {
	t.Helper()
	out := map[string]*feeds.Feed{}
	err := filepath.WalkDir(sharedFeeds, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		switch filepath.Ext(path) {
		case ".xml", ".rss", ".atom":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(sharedFeeds, path)
		// Refusals are asserted in feeds' fixture table; locked feeds are
		// rendered here as if the owner consented.
		if pf, err := feeds.Parse(b, "https://example.org/feed.xml"); err == nil {
			out[filepath.ToSlash(rel)] = pf
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 240 {
		t.Fatalf("only %d fixtures parsed", len(out))
	}
	return out
}

func renderOrFail(t *testing.T, fl Flavour, f store.Feed, eps []store.Episode) []byte {
	t.Helper()
	out, dropped, err := render(Config{PublicURL: publicURL, Trackers: []string{publicURL + "/announce"}}, fl, f, eps)
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) > 0 {
		t.Errorf("%s: left out %q", f.Slug, dropped)
	}
	return out
}

// strictWellFormed is wellFormed that also refuses unbound prefixes, which
// namespace-aware readers (feedparser, libxml2) reject.
func strictWellFormed(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Space != "" && !strings.Contains(se.Name.Space, ":") {
			return fmt.Errorf("unbound prefix %s", se.Name.Space)
		}
	}
}

// expected is what a reader must find in an output feed.
type expected struct {
	File   string   `json:"file"`
	Title  string   `json:"title"`
	Titles []string `json:"titles"`
	GUIDs  []string `json:"guids"`
	Encs   []string `json:"encs"` // first enclosure URL per item, "" for none
}

// TestRoundTrip renders both RSS flavours of every fixture and reads them
// back with gofeed and with python3-feedparser (one process for all files):
// same channel title, item count, titles, GUIDs and enclosures, no
// well-formedness errors.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var want []expected
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range parsedFixtures(t) {
			if !yield(n) {
				return
			}
		}
	})
	all := parsedFixtures(t)
	for i, name := range names {
		f, eps := fromParsed("f", all[name])
		for _, fl := range []Flavour{TorrentRSS, PodcastRSS} {
			out := renderOrFail(t, fl, f, eps)
			if err := strictWellFormed(out); err != nil {
				t.Errorf("%s flavour %d: %v", name, fl, err)
				continue
			}
			exp := expected{File: filepath.Join(dir, fmt.Sprintf("%03d-%d.xml", i, fl)), Title: f.Title}
			for _, e := range eps {
				if e.EnclosureIndex > 0 {
					continue // a further enclosure of the same item, not an item
				}
				exp.Titles = append(exp.Titles, e.Title)
				g := e.GUID
				if g == "" {
					g = e.Key
				}
				exp.GUIDs = append(exp.GUIDs, g)
				enc := e.EnclosureURL
				if fl == TorrentRSS && e.InfoHash != "" {
					enc = publicURL + "/torrents/" + e.InfoHash + ".torrent"
				}
				exp.Encs = append(exp.Encs, enc)
			}
			if err := os.WriteFile(exp.File, out, 0o644); err != nil {
				t.Fatal(err)
			}
			want = append(want, exp)

			got := readGofeed(t, out)
			got.File = exp.File
			if d := diffExpected(exp, got); d != "" {
				t.Errorf("%s flavour %d, gofeed: %s", name, fl, d)
			}
		}
	}

	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("python3 not installed (Debian python3-feedparser); gofeed round trip done")
	}
	var files []string
	for _, w := range want {
		files = append(files, w.File)
	}
	cmd := exec.Command(py, "testdata/roundtrip.py")
	cmd.Stdin = strings.NewReader(strings.Join(files, "\n"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("feedparser: %v\n%s", err, stderr.String())
	}
	var got []struct {
		expected
		Bozo    int    `json:"bozo"`
		BozoMsg string `json:"bozo_exception"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("feedparser read %d files, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Bozo != 0 {
			t.Errorf("%s: feedparser bozo: %s", want[i].File, got[i].BozoMsg)
		}
		if d := diffExpected(want[i], got[i].expected); d != "" {
			t.Errorf("%s, feedparser: %s", names[i/2], d)
		}
	}
}

func readGofeed(t *testing.T, doc []byte) expected {
	t.Helper()
	gf, err := gofeed.NewParser().Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("gofeed: %v\n%s", err, doc)
	}
	got := expected{Title: gf.Title}
	for _, it := range gf.Items {
		got.Titles = append(got.Titles, it.Title)
		got.GUIDs = append(got.GUIDs, it.GUID)
		enc := ""
		if len(it.Enclosures) > 0 {
			enc = it.Enclosures[0].URL
		}
		got.Encs = append(got.Encs, enc)
	}
	return got
}

func diffExpected(want, got expected) string {
	var d []string
	if strings.TrimSpace(want.Title) != strings.TrimSpace(got.Title) {
		d = append(d, fmt.Sprintf("title %q, want %q", got.Title, want.Title))
	}
	if len(want.Titles) != len(got.Titles) {
		return strings.Join(append(d, fmt.Sprintf("%d items, want %d", len(got.Titles), len(want.Titles))), "; ")
	}
	for i := range want.Titles {
		if strings.TrimSpace(want.Titles[i]) != strings.TrimSpace(got.Titles[i]) {
			d = append(d, fmt.Sprintf("item %d title %q, want %q", i, got.Titles[i], want.Titles[i]))
		}
		if want.GUIDs[i] != got.GUIDs[i] {
			d = append(d, fmt.Sprintf("item %d guid %q, want %q", i, got.GUIDs[i], want.GUIDs[i]))
		}
		if want.Encs[i] != got.Encs[i] {
			d = append(d, fmt.Sprintf("item %d enclosure %q, want %q", i, got.Encs[i], want.Encs[i]))
		}
	}
	return strings.Join(d, "; ")
}

// TestFlavourGoldens pins all four flavours of a few fixtures that between
// them hold every namespace, items without enclosures, several enclosures and
// missing GUIDs.
func TestFlavourGoldens(t *testing.T) {
	cases := map[string]string{
		"example":    sharedFeeds + "/podcast-namespace/example.xml",
		"noenc":      sharedFeeds + "/podcastparser/no_enclosure.rss",
		"multienc":   sharedFeeds + "/podcastparser/no_title_multi_enclosure.rss",
		"mediarss":   sharedFeeds + "/podcastparser/media_episode_thumbnail_group.rss",
		"psc":        sharedFeeds + "/feedparser/wellformed__psc__rss2.0simplechapter2items.xml",
		"newfeedurl": sharedFeeds + "/podcastparser/new_feed_url.rss",
		"hostile":    "testdata/hostile.rss",
		"podcasttxt": "../feeds/testdata/podcasttxt/verify.rss",
	}
	ext := map[Flavour]string{TorrentRSS: "rss", PodcastRSS: "podcast.rss", Atom: "atom", JSON: "json"}
	for name, path := range cases {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pf, err := feeds.Parse(b, "https://example.org/feed.xml")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f, eps := fromParsed(name, pf)
		for fl, e := range ext {
			out := renderOrFail(t, fl, f, eps)
			if fl != JSON {
				if err := strictWellFormed(out); err != nil {
					t.Errorf("%s.%s: %v", name, e, err)
				}
			} else if !json.Valid(out) {
				t.Errorf("%s.json is not JSON", name)
			}
			checkGolden(t, "flavour-"+name+"."+e, out)
		}
	}
}

// TestHostileText checks that markup, entities and control characters in
// titles and descriptions come out well-formed and, read back, unchanged
// (control characters XML 1.0 cannot carry are the only thing removed).
func TestHostileText(t *testing.T) {
	b, err := os.ReadFile("testdata/hostile.rss")
	if err != nil {
		t.Fatal(err)
	}
	pf, err := feeds.Parse(b, "https://example.org/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	const (
		title     = `Hostile <b>show</b> &amp; "quotes" 'apos'`
		desc      = `<script>alert("x")</script> ]]> & done`
		itemTitle = "Ep <1> &  ﬁ 🎧"
		itemDesc  = `<p onclick="evil()">markup</p> &lt;entity&gt; ]]>`
		guid      = `guid <with> & odd "chars"`
	)
	it := pf.Items[0]
	if pf.Title != title || pf.Description != desc || it.Title != itemTitle || it.Description != itemDesc || it.GUID != guid {
		t.Fatalf("parse changed the text: %q %q %q %q %q", pf.Title, pf.Description, it.Title, it.Description, it.GUID)
	}
	f, eps := fromParsed("hostile", pf)
	for _, fl := range []Flavour{TorrentRSS, PodcastRSS, Atom} {
		out := renderOrFail(t, fl, f, eps)
		if err := strictWellFormed(out); err != nil {
			t.Fatalf("flavour %d: %v\n%s", fl, err, out)
		}
		gf, err := gofeed.NewParser().Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		gi := gf.Items[0]
		if gf.Title != title || gi.Title != itemTitle || gi.Description != itemDesc {
			t.Errorf("flavour %d read back: %q %q %q", fl, gf.Title, gi.Title, gi.Description)
		}
		if fl != Atom && (gf.Description != desc || gi.GUID != guid) {
			t.Errorf("flavour %d read back: %q %q", fl, gf.Description, gi.GUID)
		}
		if !bytes.Contains(out, []byte("<itunes:summary>Summary with &lt;i&gt;markup&lt;/i&gt; &amp; ctl:</itunes:summary>")) && fl != Atom {
			t.Errorf("flavour %d lost or changed itunes:summary", fl)
		}
	}
}

// TestFlavourHandlers serves every flavour from a real store: content types,
// strong ETags per encoding, 304 on revalidation, gzip when asked.
func TestFlavourHandlers(t *testing.T) {
	fx := newFixture(t)
	fx.save(t, sampleEpisodes(), t0)
	fx.publish(t, "guid:ep2", "ep2.mp3", t0.Add(time.Hour))
	srv := newServer(t, fx)
	types := map[string]string{
		"/feeds/show.rss":         "application/rss+xml; charset=utf-8",
		"/feeds/show/podcast.rss": "application/rss+xml; charset=utf-8",
		"/feeds/show.atom":        "application/atom+xml; charset=utf-8",
		"/feeds/show.json":        "application/feed+json; charset=utf-8",
	}
	for path, ct := range types {
		resp, body := get(t, srv.URL+path, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ct || resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s: status %d type %q encoding %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"))
		}
		if !bytes.Contains(body, []byte("Episode 2")) || resp.Header.Get("Last-Modified") == "" {
			t.Errorf("%s: body or Last-Modified missing", path)
		}
		etag := resp.Header.Get("ETag")
		if r, b := get(t, srv.URL+path, map[string]string{"If-None-Match": etag}); r.StatusCode != 304 || len(b) != 0 {
			t.Errorf("%s: revalidation status %d", path, r.StatusCode)
		}

		zr, zb := get(t, srv.URL+path, map[string]string{"Accept-Encoding": "br, gzip;q=0.5"})
		if zr.Header.Get("Content-Encoding") != "gzip" || zr.Header.Get("ETag") == etag || !strings.Contains(zr.Header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("%s: gzip response headers %v", path, zr.Header)
		}
		plain, err := gunzip(zb)
		if err != nil || !bytes.Equal(plain, body) {
			t.Errorf("%s: gzipped body differs from the plain one (%v)", path, err)
		}
		if r, _ := get(t, srv.URL+path, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": zr.Header.Get("ETag")}); r.StatusCode != 304 {
			t.Errorf("%s: gzip revalidation status %d", path, r.StatusCode)
		}
		if r, _ := get(t, srv.URL+path, map[string]string{"Accept-Encoding": "gzip;q=0"}); r.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: gzip sent although refused with q=0", path)
		}
	}
	for _, path := range []string{"/feeds/nope.atom", "/feeds/nope/podcast.rss", "/feeds/show/other.rss", "/feeds/.json"} {
		if resp, _ := get(t, srv.URL+path, nil); resp.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
