package web

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/tracker"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var _ Store = store.Store(nil)

const publicURL = "http://127.0.0.1:8080"

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// hostileNotes try every way to run script from show notes.
const hostileNotes = `<p>Hello <script>alert(1)</script><img src="x" onerror="alert(2)">` +
	`<a href="javascript:alert(3)">click</a> <a href="JaVaScRiPt:alert(4)">again</a> ` +
	`<a href="https://example.com/wren" onclick="alert(5)">more</a> <b style="color:red">bold</b></p>` +
	`<iframe src="https://evil.example/"></iframe><svg onload="alert(6)"></svg><form action="https://evil.example/"><input></form>` +
	`<h1>Big</h1><ul><li>one</li></ul>`

// fixture is a real SQLite store with two published podcasts, one feed never polled, and a
// real tracker knowing the torrents' swarms.
type fixture struct {
	st     store.Store
	trk    *tracker.Tracker
	h      *Handler
	srv    *httptest.Server
	hashes map[string]string // episode key → info hash
	artDir string
}

func hashOf(n int) string { return fmt.Sprintf("%040x", 0xabc000+n) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fx := &fixture{st: st, hashes: map[string]string{}, artDir: filepath.Join(dir, "art")}
	for _, slug := range []string{"birds", "rocks", "never"} {
		if err := st.EnsureFeed(ctx, slug, "https://example.com/"+slug+".xml"); err != nil {
			t.Fatal(err)
		}
	}
	birds := store.Feed{Slug: "birds", Title: "Birdsong Weekly", Author: "Ada Lovelace",
		Description: "<p>Songs of the <b>garden</b> &amp; the fields.</p>", ImageURL: "http://art.example/birds.png"}
	fx.save(t, birds, []store.Episode{
		{Key: "guid:wren", GUID: "wren", Title: "The Wren", Description: hostileNotes, Published: t0,
			EnclosureURL: "https://media.example.com/wren.mp3", EnclosureType: "audio/mpeg", EnclosureLength: 3_100_000,
			Extra: `<itunes:duration>3723</itunes:duration><podcast:chapters url="https://example.com/wren.json" type="application/json+chapters"></podcast:chapters>` +
				`<podcast:transcript url="https://example.com/wren.vtt" type="text/vtt" language="en"></podcast:transcript>` +
				`<podcast:transcript url="javascript:alert(7)" type="text/html"></podcast:transcript>`},
		{Key: "guid:robin", GUID: "robin", Title: "The Robin", Description: "Robins in winter.\nRecorded near the marshland.",
			Published: t0.Add(-7 * 24 * time.Hour), EnclosureURL: "https://media.example.com/robin.mp3", EnclosureType: "audio/mpeg",
			Extra: `<itunes:duration>12:05</itunes:duration><podcast:integrity type="sri" value="sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="></podcast:integrity>`},
		{Key: "guid:owl", GUID: "owl", Title: "Owls (not yet downloaded)", EnclosureURL: "https://media.example.com/owl.mp3"},
	})
	fx.save(t, store.Feed{Slug: "rocks", Title: `Rock <Talk> & "Friends"`, Description: "Geology on video"}, []store.Episode{
		{Key: "guid:granite", GUID: "granite", Title: "Granite", Description: "Granite at dawn", Published: t0.Add(-24 * time.Hour),
			EnclosureURL: "https://video.example.com/granite.mp4", EnclosureType: "video/mp4", EnclosureLength: 50_000_000},
	})
	fx.publish(t, "birds", "guid:wren", 1, "media/birds/wren.mp3", 3_145_728, strings.Repeat("ab", 32))
	fx.publish(t, "birds", "guid:robin", 2, "media/birds/robin.mp3", 1_048_576, "")
	fx.publish(t, "rocks", "guid:granite", 3, "media/rocks/granite.mp4", 52_428_800, "")

	fx.trk = tracker.New(tracker.Config{AnnouncesPerIPPerMinute: -1}, st, slog.New(slog.DiscardHandler), nil)
	for _, ih := range fx.hashes {
		if err := fx.trk.Allow(ctx, decodeHash(t, ih), 1); err != nil {
			t.Fatal(err)
		}
	}
	// The wren has a seeder and a leecher, from listeners' addresses on loopback.
	fx.announce(t, fx.hashes["guid:wren"], "127.0.5.9", 0)
	fx.announce(t, fx.hashes["guid:wren"], "127.1.2.3", 1000)

	stats := StatsFunc(func(ih [20]byte) (int64, int64, int64, bool) {
		s, ok := fx.trk.Stats(ih)
		return s.Complete, s.Incomplete, s.Downloaded, ok
	})
	fx.h = New(Config{Links: publisher.Config{PublicURL: publicURL, Trackers: []string{publicURL + "/announce"}}, ArtDir: fx.artDir},
		st, stats, artOrigin(t), slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	fx.h.Routes(mux)
	fx.srv = httptest.NewServer(mux)
	t.Cleanup(fx.srv.Close)
	return fx
}

// artOrigin is a client that reaches, whatever the URL's host, a server on loopback drawing
// a podcast cover: the fixture's image URL stays the same from run to run (golden pages).
func artOrigin(t *testing.T) *http.Client {
	m := image.NewRGBA(image.Rect(0, 0, 240, 240))
	for y := range 240 {
		for x := range 240 {
			m.Set(x, y, color.RGBA{uint8(40 + x/2), uint8(90 + y/3), 140, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(b.Bytes()) }))
	t.Cleanup(srv.Close)
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}}}
}

func (fx *fixture) save(t *testing.T, f store.Feed, eps []store.Episode) {
	t.Helper()
	for i := range eps {
		eps[i].Position = i
	}
	if err := fx.st.SaveChannel(context.Background(), f, eps, t0); err != nil {
		t.Fatal(err)
	}
}

func (fx *fixture) publish(t *testing.T, slug, key string, n int, media string, size int64, sha string) {
	t.Helper()
	ih := hashOf(n)
	fx.hashes[key] = ih
	if err := fx.st.Publish(context.Background(), slug, key, store.Publication{InfoHash: ih,
		TorrentPath: "torrents/" + ih + ".torrent", TorrentSize: 300, MediaPath: media, MediaSize: size, SHA256: sha, At: t0}); err != nil {
		t.Fatal(err)
	}
}

func decodeHash(t *testing.T, ih string) [20]byte {
	t.Helper()
	var b [20]byte
	if n, err := hex.Decode(b[:], []byte(ih)); err != nil || n != 20 {
		t.Fatalf("info hash %q: %v", ih, err)
	}
	return b
}

// announce sends one HTTP announce to the real tracker from addr.
func (fx *fixture) announce(t *testing.T, ih, addr string, left int) {
	t.Helper()
	raw := decodeHash(t, ih)
	q := "info_hash=" + url.QueryEscape(string(raw[:])) + "&peer_id=" + url.QueryEscape(fmt.Sprintf("-TS0001-%012d", left)) +
		fmt.Sprintf("&port=6881&uploaded=0&downloaded=0&left=%d&event=started", left)
	r := httptest.NewRequest("GET", "/announce?"+q, nil)
	r.RemoteAddr = addr + ":40000"
	w := httptest.NewRecorder()
	fx.trk.AnnounceHandler().ServeHTTP(w, r)
	if w.Code != 200 || strings.Contains(w.Body.String(), "failure") {
		t.Fatalf("announce %s from %s: %d %s", ih, addr, w.Code, w.Body)
	}
}

func (fx *fixture) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(fx.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./web -update)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from %s (go test ./web -update rewrites it); got:\n%s", name, path, got)
	}
}

// TestPagesGolden renders every page of the fixture and compares it with its golden file.
func TestPagesGolden(t *testing.T) {
	fx := newFixture(t)
	wren := fx.hashes["guid:wren"]
	for _, tc := range []struct{ name, path, csp string }{
		{"directory.html", "/", cspPage},
		{"search.html", "/?q=marshland", cspPage},
		{"podcast.html", "/podcasts/birds", fmt.Sprintf(cspPlayer, " https://media.example.com", "'none'")},
		{"episode.html", "/podcasts/birds/" + wren, fmt.Sprintf(cspPlayer, " https://media.example.com", "'none'")},
		{"embed.html", "/embed/birds/" + wren, fmt.Sprintf(cspPlayer, " https://media.example.com", "*")},
		{"video.html", "/podcasts/rocks/" + fx.hashes["guid:granite"], fmt.Sprintf(cspPlayer, " https://video.example.com", "'none'")},
		{"directory.opml", "/directory.opml", ""},
		{"directory-podcast.opml", "/directory.opml?flavour=podcast", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := fx.get(t, tc.path)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %s\n%s", tc.path, resp.Status, body)
			}
			if got := resp.Header.Get("Content-Security-Policy"); tc.csp != "" && got != tc.csp {
				t.Errorf("GET %s: CSP %q, want %q", tc.path, got, tc.csp)
			}
			checkGolden(t, tc.name, []byte(body))
		})
	}
}

var playerRE = regexp.MustCompile(`<div id="player" data-infohash="([0-9a-f]{40})" data-torrent="([^"]*)" data-magnet="([^"]*)" ` +
	`data-sha256="([0-9a-f]*)" data-name="([^"]*)" data-type="([^"]*)" data-progress="0" data-peers="0" data-verified="false">` +
	`<(audio|video) controls></(?:audio|video)><p class="player-status"></p></div>\s*` +
	`<script type="module" src="/static/player.js"></script>`)

// TestPlayerContract: the #player element carries what player.js reads, by episode.
func TestPlayerContract(t *testing.T) {
	fx := newFixture(t)
	for _, tc := range []struct {
		path, ih, sha, name, typ, elem string
	}{
		{"/podcasts/birds/" + fx.hashes["guid:wren"], fx.hashes["guid:wren"], strings.Repeat("ab", 32), "wren.mp3", "audio/mpeg", "audio"},
		// No SHA-256 in the store: the feed's podcast:integrity (the SHA-256 of nothing).
		{"/podcasts/birds/" + fx.hashes["guid:robin"], fx.hashes["guid:robin"],
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "robin.mp3", "audio/mpeg", "audio"},
		{"/embed/rocks/" + fx.hashes["guid:granite"], fx.hashes["guid:granite"], "", "granite.mp4", "video/mp4", "video"},
		{"/podcasts/birds", fx.hashes["guid:wren"], strings.Repeat("ab", 32), "wren.mp3", "audio/mpeg", "audio"}, // the newest
	} {
		_, body := fx.get(t, tc.path)
		m := playerRE.FindAllStringSubmatch(body, -1)
		if len(m) != 1 {
			t.Errorf("%s: %d #player elements matching the contract, want 1:\n%s", tc.path, len(m), body)
			continue
		}
		got := m[0][1:]
		magnet := strings.ReplaceAll(got[2], "&amp;", "&")
		if got[0] != tc.ih || got[1] != "/torrents/"+tc.ih+".torrent" || !strings.HasPrefix(magnet, "magnet:?xt=urn:btih:"+tc.ih+"&") ||
			got[3] != tc.sha || got[4] != tc.name || got[5] != tc.typ || got[6] != tc.elem {
			t.Errorf("%s: player %q, want hash %s, sha256 %q, name %s, type %s, <%s>", tc.path, got, tc.ih, tc.sha, tc.name, tc.typ, tc.elem)
		}
	}
}

// TestShowNotesInert: script, event handlers, javascript: links, frames, forms and styles in
// show notes never reach the page; links that remain are nofollow, noopener.
func TestShowNotesInert(t *testing.T) {
	fx := newFixture(t)
	for _, path := range []string{"/podcasts/birds/" + fx.hashes["guid:wren"], "/", "/podcasts/birds", "/?q=hello"} {
		_, body := fx.get(t, path)
		lower := strings.ToLower(body)
		for _, bad := range []string{"alert(", "onerror", "onclick", "onload", "javascript:", "<iframe", "<svg", "<form action=\"https://evil",
			"style=", "<img src=\"x\"", "evil.example"} {
			if strings.Contains(lower, bad) {
				t.Errorf("%s: page contains %q", path, bad)
			}
		}
		if n := strings.Count(lower, "<script"); n > 2 { // the player's two, nothing else
			t.Errorf("%s: %d script elements", path, n)
		}
	}
	_, body := fx.get(t, "/podcasts/birds/"+fx.hashes["guid:wren"])
	if !regexp.MustCompile(`<a href="https://example.com/wren" rel="nofollow noreferrer noopener" target="_blank">more</a>`).MatchString(body) {
		t.Errorf("the safe link is not kept as a nofollow, noopener link:\n%s", body)
	}
	for _, kept := range []string{"<b>bold</b>", "<li>one</li>", "Big", "click", "https://example.com/wren.json", "https://example.com/wren.vtt", "1:02:03"} {
		if !strings.Contains(body, kept) {
			t.Errorf("episode page lacks %q", kept)
		}
	}
}

// TestNotFound: unknown podcasts and torrents, a torrent under another podcast, malformed hashes.
func TestNotFound(t *testing.T) {
	fx := newFixture(t)
	for _, path := range []string{"/podcasts/nope", "/podcasts/rocks/" + fx.hashes["guid:wren"], "/podcasts/birds/" + hashOf(99),
		"/podcasts/birds/..%2f..%2fetc", "/embed/birds/xyz", "/art/nope", "/static/", "/static/nope.js", "/nothing"} {
		if resp, _ := fx.get(t, path); resp.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
	}
	if resp, _ := fx.get(t, "/directory.opml?flavour=<x>"); resp.StatusCode != 400 {
		t.Errorf("bad flavour: %s, want 400", resp.Status)
	}
}

// TestSearchPage: a word of an episode's description finds it; a huge query is cut, not refused.
func TestSearchPage(t *testing.T) {
	fx := newFixture(t)
	_, body := fx.get(t, "/?q=Marshland")
	if !strings.Contains(body, `<a href="/podcasts/birds/`+fx.hashes["guid:robin"]+`">The Robin</a>`) {
		t.Errorf("search for a word of the robin's description does not link it:\n%s", body)
	}
	_, body = fx.get(t, "/?q=dawn")
	if !strings.Contains(body, "Granite") || strings.Contains(body, "Owls") {
		t.Errorf("search for dawn: want granite, never the unpublished owl:\n%s", body)
	}
	resp, body := fx.get(t, "/?q="+strings.Repeat("wren+", 2000))
	if resp.StatusCode != 200 || !strings.Contains(body, "Only the first 200 characters") {
		t.Errorf("long query: %s\n%s", resp.Status, body)
	}
}

// TestSearchBusy: past maxSearches running at once, a search waits, then gets 503.
func TestSearchBusy(t *testing.T) {
	fx := newFixture(t)
	fx.h.wait = 50 * time.Millisecond
	for range maxSearches {
		fx.h.searches <- struct{}{} // searches in progress
	}
	resp, _ := fx.get(t, "/?q=wren")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("search with %d running: %s, Retry-After %q; want 503 with Retry-After", maxSearches, resp.Status, resp.Header.Get("Retry-After"))
	}
	if resp, _ := fx.get(t, "/"); resp.StatusCode != 200 {
		t.Errorf("the directory without a search: %s", resp.Status)
	}
	<-fx.h.searches
	if resp, body := fx.get(t, "/?q=wren"); resp.StatusCode != 200 || !strings.Contains(body, "The Wren") {
		t.Errorf("search with a slot free: %s", resp.Status)
	}
}

// TestOPML: both OPML documents parse (encoding/xml and Python's parser) and list every
// published podcast with its feed URL.
func TestOPML(t *testing.T) {
	fx := newFixture(t)
	for flavour, fl := range map[string]publisher.Flavour{"": publisher.TorrentRSS, "podcast": publisher.PodcastRSS} {
		_, body := fx.get(t, "/directory.opml?flavour="+flavour)
		var doc struct {
			Version  string `xml:"version,attr"`
			Title    string `xml:"head>title"`
			Outlines []struct {
				Type   string `xml:"type,attr"`
				Text   string `xml:"text,attr"`
				XMLURL string `xml:"xmlUrl,attr"`
			} `xml:"body>outline"`
		}
		if err := xml.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("OPML does not parse: %v\n%s", err, body)
		}
		want := map[string]string{"Birdsong Weekly": publicURL + fl.Path("birds"), `Rock <Talk> & "Friends"`: publicURL + fl.Path("rocks")}
		if doc.Version != "2.0" || len(doc.Outlines) != len(want) {
			t.Fatalf("OPML version %q with %d outlines, want 2.0 with %d", doc.Version, len(doc.Outlines), len(want))
		}
		for _, o := range doc.Outlines {
			if want[o.Text] != o.XMLURL || o.Type != "rss" {
				t.Errorf("outline %q: type %q xmlUrl %q, want rss %q", o.Text, o.Type, o.XMLURL, want[o.Text])
			}
		}
		if python, err := exec.LookPath("python3"); err == nil {
			cmd := exec.Command(python, "-c", `import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
print(root.get("version"), len(root.findall("./body/outline")), *[o.get("xmlUrl") for o in root.findall("./body/outline")])`)
			cmd.Stdin = strings.NewReader(body)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("python3 cannot parse the OPML: %v\n%s", err, out)
			}
			if got, w := strings.TrimSpace(string(out)), "2.0 2 "+publicURL+fl.Path("birds")+" "+publicURL+fl.Path("rocks"); got != w {
				t.Errorf("python3 reads %q, want %q", got, w)
			}
		}
	}
}

// TestStatic: the stylesheet and placeholder are served; pages render whether or not the
// player's scripts are there.
func TestStatic(t *testing.T) {
	fx := newFixture(t)
	for path, typ := range map[string]string{"/static/site.css": "text/css; charset=utf-8", "/static/podcast.svg": "image/svg+xml"} {
		resp, body := fx.get(t, path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != typ || len(body) == 0 {
			t.Errorf("GET %s: %s %q, %d bytes", path, resp.Status, resp.Header.Get("Content-Type"), len(body))
		}
	}
}
