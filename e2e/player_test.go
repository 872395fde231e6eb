package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/chromedp/chromedp"
)

// playerCSP is the policy the player must work under, and the one the gateway's
// pages need: scripts only from the gateway, WebSocket to the tracker, the
// streaming service worker, and media from the worker's URLs or a blob.
const playerCSP = "default-src 'none'; script-src 'self'; connect-src 'self' ws: wss:; " +
	"media-src 'self' blob:; worker-src 'self'; style-src 'self'; img-src 'self'"

// TestBrowserPlayer: headless Chromium runs web/static/player.js against the
// gateway's tracker and seeder with the origin's media switched off and no web
// seed. One page gets the whole episode over WebRTC and verifies its SHA-256;
// a second page at the same time finds both the seeder and the first page
// (two peers at once, data-peers-max >= 2) and receives bytes from the first
// page (data-listener-bytes > 0); the tracker counts both listeners. Each page stands for a
// listener at its own address: its tracker connection goes through a trusted
// proxy that says so in X-Forwarded-For (127.0.5.x, GUIDE section 6).
func TestBrowserPlayer(t *testing.T) {
	if !inPrivateNetwork(t) {
		return
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Skip("needs Debian's chromium")
	}
	// Big enough that the second page is still downloading when both its peers connect.
	o := newOrigin(t, 1, 16<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	trustLoopbackProxy(t, g)
	g.start()
	feed := g.waitPublished("show", 1, 60*time.Second)
	o.serveMedia.Store(false)
	ep := o.episodes[0]
	mi := fetchTorrent(t, torrentURLs(feed)[ep.GUID])
	ih := mi.HashInfoBytes()
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}

	gw, _ := url.Parse(g.baseURL())
	// torrents[i] is the episode's torrent as listener i gets it: the same info
	// (so the same swarm), announcing to the tracker through listener i's proxy.
	var torrents [3][]byte
	for i := range 2 {
		proxy := listenerProxy(t, gw, fmt.Sprintf("127.0.5.%d", i+1))
		ws := "ws" + strings.TrimPrefix(proxy, "http") + "/announce"
		mi.Announce, mi.AnnounceList, mi.UrlList = ws, [][]string{{ws}}, nil
		var b bytes.Buffer
		if err := mi.Write(&b); err != nil {
			t.Fatal(err)
		}
		torrents[i] = b.Bytes()
	}
	// torrents[2] has no tracker, only a web seed whose origin allows CORS.
	seed := corsWebSeed(t, ep.Body)
	mi.Announce, mi.AnnounceList, mi.UrlList = "", nil, []string{seed + "/episode.mp3"}
	var b bytes.Buffer
	if err := mi.Write(&b); err != nil {
		t.Fatal(err)
	}
	torrents[2] = b.Bytes()
	// The first page gets the checksum as hex SHA-256, the second as podcast:integrity's
	// SRI form (sha384-<base64>).
	sum, sum384 := sha256.Sum256(ep.Body), sha512.Sum384(ep.Body)
	site := playerSite(t, torrents, map[string]string{"InfoHash": ih.HexString(), "Name": info.Name},
		[2]string{hex.EncodeToString(sum[:]), "sha384-" + base64.StdEncoding.EncodeToString(sum384[:])}, seed)

	// Each listener has a browser of its own: one browser's pages share WebTorrent's
	// piece storage, so a second page there would have the episode already.
	page := func(i int) context.Context {
		tab := browser(t)
		if err := chromedp.Do(tab, chromedp.Navigate(fmt.Sprintf("%s/page/%d", site, i))); err != nil {
			t.Fatal(err)
		}
		return tab
	}
	first := page(0)
	waitPlayer(t, first, `el.dataset.verified === "true"`, "the first page to verify the episode")
	// The media element plays from the service worker, which serves ranges of the
	// torrent's pieces (so playback can start before the whole file is in).
	head, err := chromedp.Run(first, chromedp.Evaluate[string](`(async () => {
		const src = document.querySelector("#player audio").src
		if (!src.startsWith(location.origin + "/webtorrent/")) return "not streamed: " + src
		const res = await fetch(src, { headers: { Range: "bytes=1000-1015" } })
		const b = new Uint8Array(await res.arrayBuffer())
		return res.status + " " + Array.from(b, x => x.toString(16).padStart(2, "0")).join("")
	})()`, chromedp.EvalAwaitPromise))
	if want := "206 " + hex.EncodeToString(ep.Body[1000:1016]); err != nil || head != want {
		t.Fatalf("range from the media element's URL: %q (%v), want %q", head, err, want)
	}
	second := page(1)
	waitPlayer(t, second, `el.dataset.verified === "true"`, "the second page to verify the episode")
	// It was connected to the seeder and the first page at once, and got bytes from the page.
	waitPlayer(t, second, `Number(el.dataset.peersMax) >= 2 && Number(el.dataset.listenerBytes) > 0`,
		"the second page to have had the seeder and the first page as peers, and bytes from the page")
	for i, tab := range []context.Context{first, second} {
		st, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector(".player-status").textContent`))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("page %d: %s", i+1, st)
	}
	// With no peer at all, a web seed whose origin allows CORS is used.
	viaSeed := browser(t)
	if err := chromedp.Do(viaSeed, chromedp.Navigate(site+"/page/web-seed")); err != nil {
		t.Fatal(err)
	}
	waitPlayer(t, viaSeed, `el.dataset.verified === "true" &&
		document.querySelector(".player-status").textContent.includes("100% from the original server")`,
		"a page with only a CORS web seed to get the episode from it")

	// Bytes that do not match the published checksum are said to be wrong.
	wrong, cancel := chromedp.NewContext(first)
	defer cancel()
	if err := chromedp.Do(wrong, chromedp.Navigate(site+"/page/wrong-sum")); err != nil {
		t.Fatal(err)
	}
	waitPlayer(t, wrong, `el.dataset.verified === "false" && (el.dataset.verifyMessage || "").includes("mismatch")`,
		"a page with the wrong checksum to say so")

	g.waitDownloads(t, ih, 2, 30*time.Second, "the tracker to count both listeners")
}

// trustLoopbackProxy makes the gateway believe X-Forwarded-For from loopback.
func trustLoopbackProxy(t *testing.T, g *gateway) {
	t.Helper()
	cfg, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("http:\n"), []byte("http:\n  trusted_proxies: [127.0.0.1]\n"), 1)
	if err := os.WriteFile(g.cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
}

// listenerProxy is a reverse proxy to the gateway (WebSocket upgrades
// included) that presents every client as addr, and returns its URL.
func listenerProxy(t *testing.T, gw *url.URL, addr string) string {
	t.Helper()
	return listenerProxyAt(t, gw, addr, "127.0.0.1:0")
}

// listenerProxyAt is listenerProxy listening on listen (host:port).
func listenerProxyAt(t *testing.T, gw *url.URL, addr, listen string) string {
	t.Helper()
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(gw)
		r.Out.Header.Set("X-Forwarded-For", addr)
	}}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatalf("listener proxy for %s: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(rp)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// playerSite serves web/static from disk, the two torrents and a page per
// listener with the #player contract, under the player's CSP.
func playerSite(t *testing.T, torrents [3][]byte, data map[string]string, sums [2]string, webSeed string) string {
	t.Helper()
	tmpl := template.Must(template.ParseFiles("testdata/player.html"))
	static := http.StripPrefix("/static/", http.FileServer(http.Dir("../web/static")))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/static/vendor/sw.min.js" {
			w.Header().Set("Service-Worker-Allowed", "/") // its scope is the whole site
		}
		static.ServeHTTP(w, r)
	})
	for i, b := range torrents {
		mux.HandleFunc(fmt.Sprintf("GET /torrent/%d", i), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-bittorrent")
			w.Write(b)
		})
	}
	var srv *httptest.Server
	mux.HandleFunc("GET /page/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, sum, csp := 0, sums[0], playerCSP
		switch r.PathValue("i") {
		case "1":
			i, sum = 1, sums[1]
		case "web-seed":
			// The gateway's CSP would have to allow the enclosure's origin too.
			i, csp = 2, strings.Replace(playerCSP, "connect-src 'self'", "connect-src 'self' "+webSeed, 1)
		case "wrong-sum":
			sum = strings.Repeat("ab", 32)
		}
		d := map[string]string{"Torrent": fmt.Sprintf("%s/torrent/%d", srv.URL, i), "SHA256": sum}
		for k, v := range data {
			d[k] = v
		}
		w.Header().Set("Content-Security-Policy", csp)
		if err := tmpl.Execute(w, d); err != nil {
			t.Error(err)
		}
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// corsWebSeed serves body at /episode.mp3 to any origin (CORS, ranges included).
func corsWebSeed(t *testing.T, body []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Headers", "Range, Cache-Control, User-Agent")
		w.Header().Set("Access-Control-Expose-Headers", "Content-Range, Content-Length")
		if r.Method == http.MethodOptions {
			return
		}
		http.ServeContent(w, r, "episode.mp3", time.Time{}, bytes.NewReader(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// browser starts headless Chromium; WebRTC between pages needs real host
// candidates (mDNS hiding off), which the private network gives. extra adds
// flags (see resolveAs).
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.NoSandbox,
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.UserDataDir(t.TempDir()),
	)
	opts = append(opts, extra...)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// waitPlayer waits until cond (JavaScript, with el the #player element) holds.
func waitPlayer(t *testing.T, tab context.Context, cond, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 90*time.Second)
	defer cancel()
	expr := `(() => { const el = document.getElementById("player"); return !!el && (` + cond + `) })()`
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond),
		chromedp.WithPollingTimeout(0)))
	if err != nil {
		attrs, _ := chromedp.Run(tab, chromedp.Evaluate[string](
			`JSON.stringify(Object.assign({}, document.getElementById("player")?.dataset))`))
		st, _ := chromedp.Run(tab, chromedp.Evaluate[string](
			`document.querySelector(".player-status")?.textContent || "no status"`))
		t.Fatalf("waiting for %s: %v; status %q, data %s", what, err, st, attrs)
	}
}

// TestEpisodePagePlays: the gateway's own episode pages and embed player, as a listener opens
// them: with the origin's media off and nothing but the page, the player gets each fixture
// episode from the seeder over WebRTC and verifies it against the store's SHA-256. Two browsers
// at one address with one client are one listener that day: the tracker counts one download of
// the episode both played, and one of each other episode.
func TestEpisodePagePlays(t *testing.T) {
	if !inPrivateNetwork(t) {
		return
	}
	requireTool(t, "/usr/bin/chromium", "--version")
	o := newOrigin(t, 3, 2<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.start()
	feed := g.waitPublished("show", len(o.episodes), 60*time.Second)
	o.serveMedia.Store(false)
	urls := torrentURLs(feed)
	var hashes []metainfo.Hash
	for i, ep := range o.episodes {
		ih := fetchTorrent(t, urls[ep.GUID]).HashInfoBytes()
		hashes = append(hashes, ih)
		paths := []string{"/podcasts/show/" + ih.HexString()}
		if i == 0 {
			paths = append(paths, "/embed/show/"+ih.HexString())
		}
		for _, path := range paths {
			tab := browser(t)
			if err := chromedp.Do(tab, chromedp.Navigate(g.baseURL()+path)); err != nil {
				t.Fatal(err)
			}
			waitPlayer(t, tab, `el.dataset.verified === "true"`, path+" to play and verify the episode")
			st, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector(".player-status").textContent`))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", path, st)
			if *updateDocs && i == 0 && strings.HasPrefix(path, "/podcasts/") {
				shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile("../docs/player.png", shot, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	waitFor(t, 30*time.Second, "the tracker to count the listener once per episode", func() error {
		for _, ih := range hashes {
			_, _, downloaded, err := g.scrape(ih)
			if err != nil {
				return err
			}
			if downloaded != 1 {
				return fmt.Errorf("%s: downloaded = %d, want 1", ih.HexString(), downloaded)
			}
		}
		return nil
	})
}
