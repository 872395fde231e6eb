// Package e2e tests the built seedcast binary against real HTTP origins and
// real BitTorrent clients: a second anacrolix client, aria2c, libtorrent, qBittorrent and
// Transmission.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/mmcdole/gofeed"
)

var binary string // path of the seedcast binary built by TestMain

func TestMain(m *testing.M) {
	if b := os.Getenv(netnsBinaryEnv); b != "" {
		// Re-run inside a private network (netns_test.go): the parent built it already.
		binary = b
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "seedcast-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "seedcast")
	build := exec.Command("go", "build", "-o", binary, "../cmd/seedcast")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building seedcast:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// waitFor polls cond until it returns nil or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s: %v", d, what, err)
}

// freePort finds a port free for both TCP and UDP on loopback.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// episode is one piece of media an origin serves.
type episode struct {
	GUID  string
	Title string
	Path  string
	Body  []byte
}

// origin is a podcaster's web server: a feed and its media.
type origin struct {
	srv        *httptest.Server
	episodes   []episode
	serveMedia atomic.Bool
	feedBody   atomic.Value // string; overrides the generated feed when set
	mu         sync.Mutex
	hits       map[string]int   // media path -> full (200) GETs; HEADs and ranges not counted
	sent       map[string]int64 // media path -> body bytes sent, all requests
	// throttle, when set, slows media bodies to about this many bytes per second.
	throttle atomic.Int64
	// pubDate is every episode's release date: a day before the origin was made, so the
	// report's 30-day chart always shows it whatever the calendar says.
	pubDate time.Time
}

func newOrigin(t *testing.T, n int, size int) *origin {
	t.Helper()
	o := &origin{hits: map[string]int{}, sent: map[string]int64{},
		pubDate: time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Hour)}
	o.serveMedia.Store(true)
	rng := rand.New(rand.NewPCG(uint64(n), uint64(size)))
	for i := range n {
		body := make([]byte, size+i*123457)
		for j := range body {
			body[j] = byte(rng.Uint32())
		}
		o.episodes = append(o.episodes, episode{
			GUID:  fmt.Sprintf("urn:test:episode-%d", i+1),
			Title: fmt.Sprintf("Episode %d <&> \"quoted\"", i+1),
			Path:  fmt.Sprintf("/media/episode-%d.mp3", i+1),
			Body:  body,
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		if v, ok := o.feedBody.Load().(string); ok && v != "" {
			io.WriteString(w, v)
			return
		}
		io.WriteString(w, o.feed())
	})
	mux.HandleFunc("/media/", func(w http.ResponseWriter, r *http.Request) {
		if !o.serveMedia.Load() {
			http.Error(w, "gone", http.StatusGone)
			return
		}
		for _, e := range o.episodes {
			if e.Path == r.URL.Path {
				etag := fmt.Sprintf(`"%s-%d"`, e.GUID, len(e.Body))
				w.Header().Set("Content-Type", "audio/mpeg")
				w.Header().Set("ETag", etag)
				body, status := e.Body, http.StatusOK
				// Range requests (resumed downloads): "bytes=N-" only,
				// honoured when If-Range still names this file.
				var from int
				if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &from); err == nil &&
					from > 0 && from < len(e.Body) && (r.Header.Get("If-Range") == "" || r.Header.Get("If-Range") == etag) {
					body, status = e.Body[from:], http.StatusPartialContent
					w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(e.Body)-1, len(e.Body)))
				}
				if r.Method == http.MethodHead {
					// A conditional HEAD re-validating a published file.
					w.Header().Set("Content-Length", fmt.Sprint(len(e.Body)))
					return
				}
				o.mu.Lock()
				if status == http.StatusOK {
					o.hits[e.Path]++
				}
				o.sent[e.Path] += int64(len(body))
				o.mu.Unlock()
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.WriteHeader(status)
				if rate := o.throttle.Load(); rate > 0 {
					slowCopy(r.Context(), w, body, rate)
					return
				}
				w.Write(body)
				return
			}
		}
		http.NotFound(w, r)
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

func slowCopy(ctx context.Context, w http.ResponseWriter, b []byte, rate int64) {
	chunk := int(rate / 20)
	if chunk < 1 {
		chunk = 1
	}
	for len(b) > 0 && ctx.Err() == nil {
		n := min(chunk, len(b))
		if _, err := w.Write(b[:n]); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		b = b[n:]
		time.Sleep(50 * time.Millisecond)
	}
}

func (o *origin) feedURL() string { return o.srv.URL + "/feed.xml" }

func (o *origin) bytesSent(path string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent[path]
}

func (o *origin) hitCount(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path]
}

func (o *origin) feed() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>Origin Show</title><link>https://example.com/show</link>
<description>A test show</description><itunes:author>Tester</itunes:author>
<podcast:guid>917393e3-1b1e-5cef-ace4-edaa54e1f810</podcast:guid>
`)
	for _, e := range o.episodes {
		fmt.Fprintf(&b, `<item><title>%s</title><guid isPermaLink="false">%s</guid>
<pubDate>%s</pubDate><itunes:duration>61</itunes:duration>
<enclosure url="%s%s?utm_source=feed" length="%d" type="audio/mpeg"/></item>
`, xmlEscape(e.Title), e.GUID, o.pubDate.Format(time.RFC1123Z), o.srv.URL, e.Path, len(e.Body))
	}
	b.WriteString("</channel></rss>\n")
	return b.String()
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xmlEscapeTo(&b, s)
	return b.String()
}

func xmlEscapeTo(b *bytes.Buffer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	b.WriteString(r.Replace(s))
}

// gateway is one running seedcast process.
type gateway struct {
	t        *testing.T
	dataDir  string
	cfgPath  string
	httpPort int
	udpPort  int
	peerPort int
	cmd      *exec.Cmd
	logs     *syncBuffer
	exited   chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type feedEntry struct{ slug, url string }

func newGateway(t *testing.T, feeds ...feedEntry) *gateway {
	t.Helper()
	g := &gateway{t: t, dataDir: t.TempDir(), httpPort: freePort(t), udpPort: freePort(t), peerPort: freePort(t)}
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %s\nhttp:\n  listen: 127.0.0.1:%d\n  public_url: http://127.0.0.1:%d\n",
		g.dataDir, g.httpPort, g.httpPort)
	// A short announce interval: a client whose first announce found no
	// peer (the seeder's own announce still in flight) asks again soon.
	// Loopback clients download a few MiB faster than the default 1 Gbit/s
	// plausibility rate (3 MiB in 20 ms measured), so the tests allow 80 Gbit/s.
	// No DHT: no test may send traffic off this machine (the DHT test turns it on, loopback only).
	fmt.Fprintf(&b, "seedbox:\n  peer_port: %d\n  disable_utp: true\n  dht: false\ntracker:\n  udp_listen: 127.0.0.1:%d\n  announce_interval: 20s\n  max_download_rate: 10000000000\n",
		g.peerPort, g.udpPort)
	b.WriteString("fetch:\n  allow_private_networks: true\nschedule:\n  poll: \"@every 1h\"\n  scrape: \"@every 1h\"\ndemo: false\nfeeds:\n")
	for _, f := range feeds {
		fmt.Fprintf(&b, "  - slug: %s\n    url: %s\n", f.slug, f.url)
	}
	g.cfgPath = filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(g.cfgPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return g
}

// setTorrentFormat sets seedbox.torrent_format (v1 by default) before the gateway starts.
func (g *gateway) setTorrentFormat(format string) {
	g.t.Helper()
	b, err := os.ReadFile(g.cfgPath)
	if err != nil {
		g.t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("  disable_utp: true\n"), []byte("  disable_utp: true\n  torrent_format: "+format+"\n"), 1)
	if err := os.WriteFile(g.cfgPath, b, 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func (g *gateway) baseURL() string { return fmt.Sprintf("http://127.0.0.1:%d", g.httpPort) }

// start runs `seedcast serve` and waits for /healthz.
func (g *gateway) start() {
	g.t.Helper()
	g.launch()
	waitFor(g.t, 30*time.Second, "gateway /healthz", func() error {
		select {
		case <-g.exited:
			g.t.Fatalf("seedcast exited early:\n%s", g.logs.String())
		default:
		}
		resp, err := http.Get(g.baseURL() + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

// launch runs `seedcast serve` without waiting for it to be healthy.
func (g *gateway) launch() {
	g.t.Helper()
	g.logs = &syncBuffer{}
	g.cmd = exec.Command(binary, "serve", "-config", g.cfgPath, "-log-level", "debug")
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	g.exited = make(chan struct{})
	go func() { g.cmd.Wait(); close(g.exited) }()
	cmd, exited, logs := g.cmd, g.exited, g.logs
	g.t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if g.t.Failed() {
			g.t.Logf("seedcast log (%s):\n%s", strings.Join(cmd.Args, " "), logs.String())
		}
	})
}

func (g *gateway) kill9() {
	g.t.Helper()
	g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (g *gateway) stop() {
	g.t.Helper()
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		g.t.Fatalf("seedcast did not stop within 30s of SIGTERM:\n%s", g.logs.String())
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		g.t.Fatalf("seedcast exited %d after SIGTERM:\n%s", code, g.logs.String())
	}
}

// outputFeed fetches and parses the gateway's torrent feed for slug.
func (g *gateway) outputFeed(slug string) (*gofeed.Feed, []byte, error) {
	resp, err := http.Get(g.baseURL() + "/feeds/" + slug + ".rss")
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != 200 {
		return nil, body, fmt.Errorf("GET /feeds/%s.rss: status %d", slug, resp.StatusCode)
	}
	f, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	return f, body, err
}

// waitPublished waits until the output feed lists n torrent enclosures.
func (g *gateway) waitPublished(slug string, n int, d time.Duration) *gofeed.Feed {
	g.t.Helper()
	var feed *gofeed.Feed
	waitFor(g.t, d, fmt.Sprintf("%d episodes in /feeds/%s.rss", n, slug), func() error {
		f, _, err := g.outputFeed(slug)
		if err != nil {
			return err
		}
		if got := len(torrentURLs(f)); got < n {
			return fmt.Errorf("%d of %d published", got, n)
		}
		feed = f
		return nil
	})
	return feed
}

func torrentURLs(f *gofeed.Feed) map[string]string {
	out := map[string]string{} // guid -> .torrent URL
	for _, it := range f.Items {
		for _, e := range it.Enclosures {
			if e.Type == "application/x-bittorrent" {
				out[it.GUID] = e.URL
			}
		}
	}
	return out
}

func fetchTorrent(t *testing.T, url string) *metainfo.MetaInfo {
	t.Helper()
	mi, err := loadTorrent(url)
	if err != nil {
		t.Fatal(err)
	}
	return mi
}

// loadTorrent GETs and decodes a .torrent.
func loadTorrent(url string) (*metainfo.MetaInfo, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	mi, err := metainfo.Load(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return mi, nil
}

// scrape asks the gateway's HTTP tracker for a torrent's figures.
// waitDownloads waits up to timeout for the tracker's scrape to count want downloads of ih; what
// says what is awaited.
func (g *gateway) waitDownloads(t *testing.T, ih metainfo.Hash, want int64, timeout time.Duration, what string) {
	t.Helper()
	waitFor(t, timeout, what, func() error {
		_, _, downloaded, err := g.scrape(ih)
		if err != nil {
			return err
		}
		if downloaded != want {
			return fmt.Errorf("downloaded = %d, want %d", downloaded, want)
		}
		return nil
	})
}

func (g *gateway) scrape(ih metainfo.Hash) (complete, incomplete, downloaded int64, err error) {
	resp, err := http.Get(g.baseURL() + "/scrape?info_hash=" + urlEscapeBytes(ih[:]))
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Files map[string]struct {
			Complete   int64 `bencode:"complete"`
			Incomplete int64 `bencode:"incomplete"`
			Downloaded int64 `bencode:"downloaded"`
		} `bencode:"files"`
	}
	if err := bencode.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, 0, 0, err
	}
	f, ok := body.Files[string(ih[:])]
	if !ok {
		return 0, 0, 0, fmt.Errorf("scrape: %s not in response", ih.HexString())
	}
	return f.Complete, f.Incomplete, f.Downloaded, nil
}

type feedStatus struct {
	Slug        string `json:"slug"`
	LastError   string `json:"last_error"`
	Warning     string `json:"warning"`
	Seeding     int    `json:"seeding"`
	Pending     int    `json:"pending"`
	Downloading []struct {
		Bytes  int64 `json:"bytes"`
		Length int64 `json:"length"`
	} `json:"downloading"`
	Failed []struct {
		Error string `json:"error"`
	} `json:"failed"`
}

// status reads GET /status.
func (g *gateway) status() ([]feedStatus, error) {
	resp, err := http.Get(g.baseURL() + "/status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Feeds []feedStatus `json:"feeds"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	return body.Feeds, nil
}

func urlEscapeBytes(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, "%%%02X", c)
	}
	return s.String()
}

// addTorrent adds mi to an anacrolix client as seedbox's seeder does: the trackers only once the
// info is in, and the v2 hash left for the client to work out. anacrolix v1.61 panics
// (panicif.False in client-tracker-announcer.go's updateTorrentInput) when a hybrid torrent is
// added with its trackers in one go.
func addTorrent(cl *torrent.Client, mi *metainfo.MetaInfo) (*torrent.Torrent, error) {
	spec, err := torrent.TorrentSpecFromMetaInfoErr(mi)
	if err != nil {
		return nil, err
	}
	trackers := spec.Trackers
	spec.Trackers = nil
	spec.InfoHashV2.SetNone()
	tor, _, err := cl.AddTorrentSpec(spec)
	if err != nil {
		return nil, err
	}
	tor.AddTrackers(trackers)
	return tor, nil
}

// mediaPath is where the client saved tor's one file: a hybrid's file tree puts it in a
// directory of the torrent's name.
func mediaPath(dir string, tor *torrent.Torrent) string {
	return filepath.Join(dir, tor.Files()[0].Path())
}
