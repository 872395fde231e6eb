package publisher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/mmcdole/gofeed"
	ext "github.com/mmcdole/gofeed/extensions"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var _ Store = store.Store(nil)

const publicURL = "http://127.0.0.1:8080"

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

const channelExtra = `<itunes:author>Jane Doe</itunes:author>` +
	`<itunes:category text="Technology"><itunes:category text="Podcasting"></itunes:category></itunes:category>` +
	`<itunes:explicit>false</itunes:explicit>` +
	`<podcast:locked owner="jane@example.com">yes</podcast:locked>` +
	`<podcast:funding url="https://example.com/donate">Support us</podcast:funding>`

// fixture is a real SQLite store and data dir holding one feed.
type fixture struct {
	st   store.Store
	dir  string
	feed store.Feed
	// v2 publishes with a v2 info hash (the SHA-256 of the info bytes), as for a hybrid torrent.
	v2 bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := store.Feed{
		Slug:        "show",
		URL:         "https://example.com/show.xml",
		Title:       "The Show",
		Link:        "https://example.com/",
		Description: "A show about things & stuff.",
		Language:    "en",
		Copyright:   "© 2024 Jane",
		Author:      "Jane Doe",
		ImageURL:    "https://example.com/cover.jpg",
		PodcastGUID: "917393e3-1b1e-5cef-ace4-edaa54e1f810",
		Extra:       channelExtra,
	}
	if err := st.EnsureFeed(ctx, f.Slug, f.URL); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, dir: dir, feed: f}
}

// save stores the channel and its episodes as a poll would.
func (fx *fixture) save(t *testing.T, eps []store.Episode, at time.Time) {
	t.Helper()
	if err := fx.st.SaveChannel(context.Background(), fx.feed, eps, at); err != nil {
		t.Fatal(err)
	}
}

// publish writes a real media file and .torrent for the episode and marks it
// published; it returns the info hash.
func (fx *fixture) publish(t *testing.T, key, name string, at time.Time) string {
	t.Helper()
	media := filepath.Join(fx.dir, "media", name)
	if err := os.MkdirAll(filepath.Dir(media), 0o755); err != nil {
		t.Fatal(err)
	}
	content := bytes.Repeat([]byte(name), 5000)
	if err := os.WriteFile(media, content, 0o644); err != nil {
		t.Fatal(err)
	}
	info := metainfo.Info{PieceLength: 256 << 10}
	if err := info.BuildFromFilePath(media); err != nil {
		t.Fatal(err)
	}
	ib, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	mi := metainfo.MetaInfo{InfoBytes: ib, Announce: publicURL + "/announce"}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join("torrents", name+".torrent")
	if err := os.MkdirAll(filepath.Join(fx.dir, "torrents"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fx.dir, rel), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	ih := mi.HashInfoBytes().HexString()
	var ihV2 string
	if fx.v2 {
		v2 := sha256.Sum256(ib)
		ihV2 = hex.EncodeToString(v2[:])
	}
	err = fx.st.Publish(context.Background(), fx.feed.Slug, key, store.Publication{
		InfoHash:    ih,
		InfoHashV2:  ihV2,
		TorrentPath: rel,
		TorrentSize: int64(buf.Len()),
		TorrentData: buf.Bytes(),
		MediaPath:   filepath.Join("media", name),
		MediaSize:   int64(len(content)),
		SHA256:      hex.EncodeToString(sum[:]),
		At:          at,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ih
}

func sampleEpisodes() []store.Episode {
	return []store.Episode{
		{
			Key: "guid:ep2", Position: 0, GUID: "https://example.com/ep2", GUIDIsPermaLink: true,
			Title: "Episode 2", Link: "https://example.com/ep2", Description: "Second <b>one</b>",
			Content: "<p>Show notes with <a href=\"https://example.com\">a link</a></p>",
			Author:  "jane@example.com (Jane Doe)", Published: t0.Add(-24 * time.Hour),
			Extra: `<itunes:duration>1:02:03</itunes:duration><itunes:episode>2</itunes:episode>` +
				`<podcast:transcript url="https://example.com/ep2.vtt" type="text/vtt"></podcast:transcript>`,
			EnclosureURL: "https://cdn.example.com/ep2.mp3", EnclosureType: "audio/mpeg", EnclosureLength: 123,
		},
		{
			Key: "url:ep1", Position: 1, Title: "Episode 1", Link: "https://example.com/ep1",
			Description: "First", Published: t0.Add(-48 * time.Hour),
			EnclosureURL: "https://cdn.example.com/ep1.mp3", EnclosureType: "audio/mpeg",
		},
		{
			// Never published: must not appear.
			Key: "guid:ep3", Position: 2, GUID: "ep3", Title: "Pending", EnclosureURL: "https://cdn.example.com/ep3.mp3",
		},
	}
}

// wellFormed fails the test unless doc is well-formed XML.
func wellFormed(t *testing.T, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("output is not well-formed: %v\n%s", err, doc)
		}
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update if intended)\ngot:\n%s", path, got)
	}
}

func TestRenderRSS(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	fx.save(t, sampleEpisodes(), t0)
	ih2 := fx.publish(t, "guid:ep2", "ep2.mp3", t0.Add(time.Hour))
	ih1 := fx.publish(t, "url:ep1", "ep1.mp3", t0.Add(2*time.Hour))

	f, err := fx.st.Feed(ctx, "show")
	if err != nil {
		t.Fatal(err)
	}
	eps, err := fx.st.Published(ctx, "show")
	if err != nil {
		t.Fatal(err)
	}
	out, err := RenderRSS(Config{PublicURL: publicURL, DataDir: fx.dir}, f, eps)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "feed", out)
	wellFormed(t, out)

	// Root element and namespaces.
	var root struct {
		XMLName xml.Name
		Attrs   []xml.Attr `xml:",any,attr"`
	}
	if err := xml.Unmarshal(out, &root); err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{}
	for _, a := range root.Attrs {
		key := a.Name.Local
		if a.Name.Space != "" {
			key = a.Name.Space + ":" + a.Name.Local
		}
		attrs[key] = a.Value
	}
	wantAttrs := map[string]string{
		"version":       "2.0",
		"xmlns:itunes":  nsItunes,
		"xmlns:podcast": nsPodcast,
		"xmlns:content": nsContent,
		"xmlns:atom":    nsAtom,
	}
	if root.XMLName.Local != "rss" {
		t.Errorf("root = %q, want rss", root.XMLName.Local)
	}
	for k, v := range wantAttrs {
		if attrs[k] != v {
			t.Errorf("root attr %s = %q, want %q", k, attrs[k], v)
		}
	}

	feed, err := gofeed.NewParser().ParseString(string(out))
	if err != nil {
		t.Fatal(err)
	}
	if feed.FeedType != "rss" || feed.FeedVersion != "2.0" {
		t.Errorf("feed type %s %s", feed.FeedType, feed.FeedVersion)
	}
	if feed.Title != "The Show" || feed.Description != f.Description || feed.Language != "en" {
		t.Errorf("channel = %q %q %q", feed.Title, feed.Description, feed.Language)
	}
	if feed.Image == nil || feed.Image.URL != f.ImageURL {
		t.Errorf("image = %+v", feed.Image)
	}
	if feed.Generator != "Seedcast" {
		t.Errorf("generator = %q", feed.Generator)
	}
	if feed.FeedLink != publicURL+"/feeds/show.rss" {
		t.Errorf("self link = %q", feed.FeedLink)
	}
	if feed.ITunesExt == nil || feed.ITunesExt.Author != "Jane Doe" || feed.ITunesExt.Explicit != "false" {
		t.Errorf("itunes = %+v", feed.ITunesExt)
	}
	if got := extText(feed.Extensions, "podcast", "guid"); got != f.PodcastGUID {
		t.Errorf("podcast:guid = %q", got)
	}
	if got := extText(feed.Extensions, "podcast", "locked"); got != "yes" {
		t.Errorf("podcast:locked = %q", got)
	}

	if len(feed.Items) != 2 {
		t.Fatalf("got %d items, want 2", len(feed.Items))
	}
	for i, want := range []struct {
		title, guid, ih string
		ep              store.Episode
	}{
		{"Episode 2", "https://example.com/ep2", ih2, eps[0]},
		{"Episode 1", "url:ep1", ih1, eps[1]},
	} {
		it := feed.Items[i]
		if it.Title != want.title || it.GUID != want.guid {
			t.Errorf("item %d = %q guid %q", i, it.Title, it.GUID)
		}
		if len(it.Enclosures) != 1 {
			t.Fatalf("item %d has %d enclosures", i, len(it.Enclosures))
		}
		enc := it.Enclosures[0]
		wantURL := publicURL + "/torrents/" + want.ih + ".torrent"
		st, err := os.Stat(filepath.Join(fx.dir, want.ep.TorrentPath))
		if err != nil {
			t.Fatal(err)
		}
		if enc.URL != wantURL || enc.Type != "application/x-bittorrent" || enc.Length != strconv.FormatInt(st.Size(), 10) {
			t.Errorf("item %d enclosure = %+v, want %s len %d", i, enc, wantURL, st.Size())
		}
		if it.PublishedParsed == nil || !it.PublishedParsed.Equal(want.ep.Published) {
			t.Errorf("item %d pubDate = %v", i, it.PublishedParsed)
		}
	}
	ep2 := feed.Items[0]
	if ep2.ITunesExt == nil || ep2.ITunesExt.Duration != "1:02:03" || ep2.ITunesExt.Episode != "2" {
		t.Errorf("item itunes = %+v", ep2.ITunesExt)
	}
	if ep2.Content != eps[0].Content {
		t.Errorf("content:encoded = %q", ep2.Content)
	}
	if ts := ep2.Extensions["podcast"]["transcript"]; len(ts) != 1 || ts[0].Attrs["url"] != "https://example.com/ep2.vtt" {
		t.Errorf("podcast:transcript = %+v", ts)
	}
	alt := ep2.Extensions["podcast"]["alternateEnclosure"]
	if len(alt) != 1 || alt[0].Attrs["type"] != "audio/mpeg" || len(alt[0].Children["source"]) != 3 {
		t.Fatalf("podcast:alternateEnclosure = %+v", alt)
	}
	if src := alt[0].Children["source"]; src[0].Attrs["contentType"] != "application/x-bittorrent" ||
		!strings.HasPrefix(src[1].Attrs["uri"], "magnet:?xt=urn:btih:"+ih2) ||
		src[2].Attrs["uri"] != "https://cdn.example.com/ep2.mp3" {
		t.Errorf("sources = %+v", src)
	}

	// The permalink attribute is faithful, and a missing GUID falls back to
	// the key, never a permalink.
	for _, want := range []string{
		`<guid isPermaLink="true">https://example.com/ep2</guid>`,
		`<guid isPermaLink="false">url:ep1</guid>`,
		`<atom:link href="` + publicURL + `/feeds/show.rss" rel="self" type="application/rss+xml"></atom:link>`,
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s", want)
		}
	}

	feedparserCheck(t, out, 2)
}

func extText(exts ext.Extensions, prefix, name string) string {
	if e := exts[prefix][name]; len(e) > 0 {
		return e[0].Value
	}
	return ""
}

// feedparserCheck runs the output through Python's feedparser, a reader
// independent of ours, and wants no bozo and torrent enclosures.
func feedparserCheck(t *testing.T, doc []byte, items int) {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import feedparser").Run(); err != nil {
		t.Skipf("%s has no feedparser: %v", py, err)
	}
	path := filepath.Join(t.TempDir(), "feed.xml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `import feedparser, json, sys
d = feedparser.parse(sys.argv[1])
print(json.dumps({"bozo": int(d.bozo), "exc": str(d.get("bozo_exception", "")),
  "types": [[l.get("type") for l in e.get("links", []) if l.get("rel") == "enclosure"] for e in d.entries],
  "titles": [e.get("title", "") for e in d.entries]}))`
	out, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		t.Fatalf("feedparser: %v", err)
	}
	var res struct {
		Bozo   int
		Exc    string
		Types  [][]string
		Titles []string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("feedparser output %q: %v", out, err)
	}
	if res.Bozo != 0 {
		t.Errorf("feedparser bozo: %s", res.Exc)
	}
	if len(res.Types) != items {
		t.Fatalf("feedparser saw %d entries, want %d", len(res.Types), items)
	}
	for i, ty := range res.Types {
		if len(ty) != 1 || ty[0] != "application/x-bittorrent" {
			t.Errorf("feedparser entry %d enclosure types %v", i, ty)
		}
	}
}

func TestRenderHostileText(t *testing.T) {
	var ctl strings.Builder
	for r := rune(0); r < 0x20; r++ {
		ctl.WriteRune(r)
	}
	hostile := `<script>alert("x")</script> &amp; & ]]> ]]]]>> <![CDATA[ x ]]> ` + ctl.String() +
		"\uFFFE \xff\xfe bad utf8 é 🎧"
	want := clean(hostile)
	if strings.ContainsAny(want, "\x00\x01\x1f\uFFFE") || !strings.Contains(want, "\t\n") {
		t.Fatalf("clean kept or lost the wrong characters: %q", want)
	}

	f := store.Feed{Slug: "evil/../x y", Title: hostile, Description: hostile, Link: hostile,
		Copyright: hostile, Language: hostile, ImageURL: hostile, PodcastGUID: hostile}
	eps := []store.Episode{{
		Key: hostile, GUID: hostile, Title: hostile, Link: hostile, Description: hostile,
		Content: hostile, Author: hostile, EnclosureURL: hostile, EnclosureType: hostile,
		InfoHash: strings.Repeat("ab", 20), TorrentSize: 10, Published: t0,
	}}
	out, err := RenderRSS(Config{PublicURL: publicURL}, f, eps)
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, out)

	feed, err := gofeed.NewParser().ParseString(string(out))
	if err != nil {
		t.Fatal(err)
	}
	// Line ends are normalised by every XML reader; compare without \r.
	norm := func(s string) string { return strings.ReplaceAll(s, "\r", "") }
	if len(feed.Items) != 1 {
		t.Fatalf("got %d items", len(feed.Items))
	}
	it := feed.Items[0]
	for name, got := range map[string]string{
		"feed title":  feed.Title,
		"item desc":   it.Description,
		"content":     it.Content,
		"item author": rawAuthor(t, out),
		"guid":        it.GUID,
	} {
		// gofeed trims titles and descriptions; the text inside must match.
		if strings.TrimSpace(norm(got)) != strings.TrimSpace(norm(want)) {
			t.Errorf("%s did not round-trip:\n got %q\nwant %q", name, got, want)
		}
	}
	if !strings.Contains(string(out), "/feeds/evil%2F..%2Fx%20y.rss") {
		t.Errorf("slug not escaped in self link")
	}
	feedparserCheck(t, out, 1)
}

// rawAuthor reads the first item's author with encoding/xml: gofeed splits
// author text into name and email by guesswork.
func rawAuthor(t *testing.T, doc []byte) string {
	t.Helper()
	var v struct {
		Author string `xml:"channel>item>author"`
	}
	if err := xml.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	return v.Author
}

func TestRenderDropsBadFragments(t *testing.T) {
	bad := []string{
		`<itunes:author>unclosed`,
		`<gp:author>undeclared prefix</gp:author>`,
		`<itunes:a x:y="1"/>`,
		`</x><x>`,
		"<itunes:a>\x01</itunes:a>",
		`<itunes:a>&nbsp;</itunes:a>`,
		`<!DOCTYPE x [<!ENTITY e "boom">]>`,
	}
	for _, frag := range bad {
		t.Run(frag, func(t *testing.T) {
			f := store.Feed{Slug: "s", Title: "T", Extra: frag}
			eps := []store.Episode{{Key: "k", Title: "E", InfoHash: strings.Repeat("0", 40), Extra: frag}}
			out, dropped, err := render(Config{PublicURL: publicURL}, TorrentRSS, f, eps)
			if err != nil {
				t.Fatal(err)
			}
			wellFormed(t, out)
			if len(dropped) != 2 {
				t.Errorf("dropped = %q, want channel and item extras", dropped)
			}
		})
	}
	// Fragments declaring their own namespace are fine.
	good := `<gp:author xmlns:gp="http://www.google.com/schemas/play-podcasts/1.0">J</gp:author><!-- c -->`
	out, dropped, err := render(Config{PublicURL: publicURL}, TorrentRSS, store.Feed{Slug: "s", Extra: good}, nil)
	if err != nil || len(dropped) != 0 || !bytes.Contains(out, []byte(good)) {
		t.Errorf("good fragment: dropped %q, err %v", dropped, err)
	}
	// An episode with a broken info hash cannot be served: left out.
	out, dropped, err = render(Config{PublicURL: publicURL}, TorrentRSS, store.Feed{Slug: "s"},
		[]store.Episode{{Key: "k", InfoHash: "../../etc/passwd"}})
	if err != nil || len(dropped) != 1 || bytes.Contains(out, []byte("<item>")) {
		t.Errorf("bad hash: dropped %q, err %v", dropped, err)
	}
}

func newServer(t *testing.T, fx *fixture) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	New(Config{PublicURL: publicURL + "/", DataDir: fx.dir}, fx.st, log).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// No transparent gzip: tests see exactly what the server sent.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestFeedHandler(t *testing.T) {
	fx := newFixture(t)
	fx.save(t, sampleEpisodes(), t0)
	fx.publish(t, "guid:ep2", "ep2.mp3", t0.Add(time.Hour))
	srv := newServer(t, fx)

	resp, body := get(t, srv.URL+"/feeds/show.rss", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/rss+xml; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	etag := resp.Header.Get("ETag")
	sum := sha256.Sum256(body)
	if etag != `"`+hex.EncodeToString(sum[:16])+`"` {
		t.Errorf("etag %q is not the strong hash of the body", etag)
	}
	if lm := resp.Header.Get("Last-Modified"); lm != t0.Add(time.Hour).Format(http.TimeFormat) {
		t.Errorf("last-modified %q", lm)
	}
	wellFormed(t, body)
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
		t.Errorf("content-length %q for %d bytes", cl, len(body))
	}
	full := body
	resp, body = get(t, srv.URL+"/feeds/show.rss", map[string]string{"Range": "bytes=10-19"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, full[10:20]) {
		t.Errorf("range: status %d body %q, want 206 %q", resp.StatusCode, body, full[10:20])
	}
	head, err := http.Head(srv.URL + "/feeds/show.rss")
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != 200 || head.ContentLength != int64(len(full)) || head.Header.Get("ETag") != etag {
		t.Errorf("HEAD: status %d length %d etag %q", head.StatusCode, head.ContentLength, head.Header.Get("ETag"))
	}

	resp, body = get(t, srv.URL+"/feeds/show.rss", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("If-None-Match: status %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, _ = get(t, srv.URL+"/feeds/show.rss", map[string]string{"If-None-Match": `"other"`})
	if resp.StatusCode != 200 {
		t.Errorf("stale If-None-Match: status %d", resp.StatusCode)
	}

	// A new publication changes the document, and the cache notices.
	fx.publish(t, "url:ep1", "ep1.mp3", t0.Add(2*time.Hour))
	resp, body = get(t, srv.URL+"/feeds/show.rss", map[string]string{"If-None-Match": etag})
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag || !bytes.Contains(body, []byte("Episode 1")) {
		t.Errorf("after publish: status %d etag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	// So does a channel change.
	etag = resp.Header.Get("ETag")
	fx.feed.Title = "Renamed Show"
	fx.save(t, sampleEpisodes(), t0.Add(3*time.Hour))
	resp, body = get(t, srv.URL+"/feeds/show.rss", nil)
	if resp.Header.Get("ETag") == etag || !bytes.Contains(body, []byte("Renamed Show")) {
		t.Errorf("after channel change: etag %q", resp.Header.Get("ETag"))
	}

	for _, path := range []string{"/feeds/nope.rss", "/feeds/show", "/feeds/show.xml", "/feeds/.rss", "/feeds/"} {
		if resp, _ := get(t, srv.URL+path, nil); resp.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
		}
	}

	resp, body = get(t, srv.URL+"/healthz", nil)
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
}

func TestTorrentHandler(t *testing.T) {
	ctx := context.Background()
	fx := newFixture(t)
	eps := sampleEpisodes()
	fx.save(t, eps, t0)
	ih := fx.publish(t, "guid:ep2", "ep2.mp3", t0.Add(time.Hour))
	srv := newServer(t, fx)

	want, err := os.ReadFile(filepath.Join(fx.dir, "torrents", "ep2.mp3.torrent"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{ih, strings.ToUpper(ih)} {
		resp, body := get(t, srv.URL+"/torrents/"+h+".torrent", nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, want) {
			t.Fatalf("%s: status %d, %d bytes", h, resp.StatusCode, len(body))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-bittorrent" {
			t.Errorf("content type %q", ct)
		}
		if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename=Episode-2.torrent` {
			t.Errorf("content disposition %q", cd)
		}
		mi, err := metainfo.Load(bytes.NewReader(body))
		if err != nil || mi.HashInfoBytes().HexString() != ih {
			t.Errorf("served torrent does not load as %s: %v", ih, err)
		}
	}

	// A node that did not make the torrent has no file of it: the store's copy is served.
	if err := os.Remove(filepath.Join(fx.dir, "torrents", "ep2.mp3.torrent")); err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, srv.URL+"/torrents/"+ih+".torrent", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, want) || resp.Header.Get("Content-Type") != "application/x-bittorrent" {
		t.Fatalf("without the local file: status %d, %d bytes, %q", resp.StatusCode, len(body), resp.Header.Get("Content-Type"))
	}

	for _, path := range []string{
		"/torrents/" + strings.Repeat("0", 40) + ".torrent", // well-formed, unknown
		"/torrents/" + ih[:39] + ".torrent",
		"/torrents/" + ih + "0.torrent",
		"/torrents/" + ih,
		"/torrents/" + strings.Repeat("g", 40) + ".torrent",
		"/torrents/..%2F..%2Fetc%2Fpasswd",
		"/torrents/..%2F..%2Fetc%2Fpasswd.torrent",
		"/torrents/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd.torrent",
		"/torrents/../../etc/passwd",
	} {
		if resp, _ := get(t, srv.URL+path, nil); resp.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
		}
	}

	// A stored path that leaves the data dir is refused, directly or through
	// a symlink, even though the hash is valid.
	outside := filepath.Join(t.TempDir(), "secret.torrent")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(fx.dir, "torrents", "link.torrent")); err != nil {
		t.Fatal(err)
	}
	for i, rel := range []string{"../" + filepath.Base(filepath.Dir(outside)) + "/secret.torrent", outside, "torrents/link.torrent", "torrents"} {
		h := fmt.Sprintf("%040x", i+1)
		err := fx.st.Publish(ctx, "show", "url:ep1", store.Publication{InfoHash: h, TorrentPath: rel, At: t0})
		if err != nil {
			t.Fatal(err)
		}
		resp, body := get(t, srv.URL+"/torrents/"+h+".torrent", nil)
		if resp.StatusCode != 500 || bytes.Contains(body, []byte("secret")) {
			t.Errorf("path %q: status %d body %q", rel, resp.StatusCode, body)
		}
	}
}

func TestTorrentFilename(t *testing.T) {
	ih := strings.Repeat("a", 40)
	for in, want := range map[string]string{
		"Episode 2: The \"Return\"": "Episode-2-The-Return.torrent",
		"../../etc/passwd":          "etc-passwd.torrent",
		"日本語":                       ih + ".torrent",
		"":                          ih + ".torrent",
		strings.Repeat("x", 500):    strings.Repeat("x", 80) + ".torrent",
	} {
		if got := torrentFilename(in, ih); got != want {
			t.Errorf("torrentFilename(%q) = %q, want %q", in, got, want)
		}
	}
}

// A closed store fails every read, which must become a logged 500 that does
// not leak the error to the client.
func TestStoreErrors(t *testing.T) {
	fx := newFixture(t)
	fx.st.Close()
	var logs bytes.Buffer
	mux := http.NewServeMux()
	New(Config{PublicURL: publicURL}, fx.st, slog.New(slog.NewTextHandler(&logs, nil))).Routes(mux)
	for _, path := range []string{"/feeds/show.rss", "/torrents/" + strings.Repeat("a", 40) + ".torrent"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 500 || strings.Contains(rec.Body.String(), "closed") {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Body)
		}
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 2 {
		t.Errorf("%d errors logged, want 2:\n%s", n, logs.String())
	}
}
