package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestEpisodePageListeners: two listeners, each with a browser of their own, open the gateway's
// real episode page for one episode with the origin's media switched off. The second page opens
// once the first has the whole episode (it keeps seeding): it verifies the file, was connected
// to the seeder and the first page at once, and got bytes from the first page; the tracker counts
// two downloads. The gateway's public URL names localhost: each browser resolves localhost to an
// address of its own (127.0.5.x, GUIDE section 6) where a trusted proxy says so in
// X-Forwarded-For, so the pages, their service worker and their WebSocket announces are the
// gateway's own, unchanged. localhost keeps the page a secure context (service worker,
// crypto.subtle) and is what the gateway's seeder resolves too, to 127.0.0.1.
func TestEpisodePageListeners(t *testing.T) {
	if !inPrivateNetwork(t) {
		return
	}
	requireTool(t, "/usr/bin/chromium", "--version")
	// Big enough that the second page still needs pieces when its peers connect.
	o := newOrigin(t, 1, 16<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	trustLoopbackProxy(t, g)
	g.setPublicURL(fmt.Sprintf("http://localhost:%d", g.httpPort))
	g.start()
	feed := g.waitPublished("show", 1, 60*time.Second)
	o.serveMedia.Store(false)
	ih := fetchTorrent(t, torrentURLs(feed)[o.episodes[0].GUID]).HashInfoBytes()

	gw, _ := url.Parse(g.baseURL())
	page := fmt.Sprintf("http://localhost:%d/podcasts/show/%s", g.httpPort, ih.HexString())
	open := func(addr string) context.Context {
		// The proxy takes the gateway's port on the listener's address, so the page's
		// origin (and the URLs the gateway writes into it) are the same for both.
		listenerProxyAt(t, gw, addr, fmt.Sprintf("%s:%d", addr, g.httpPort))
		tab := browser(t, resolveAs("localhost", addr))
		if err := chromedp.Do(tab, chromedp.Navigate(page)); err != nil {
			t.Fatal(err)
		}
		return tab
	}
	first := open("127.0.5.1")
	waitPlayer(t, first, `el.dataset.verified === "true"`, "the first listener's page to verify the episode")
	second := open("127.0.5.2")
	waitPlayer(t, second, `el.dataset.verified === "true"`, "the second listener's page to verify the episode")
	waitPlayer(t, second, `Number(el.dataset.peersMax) >= 2 && Number(el.dataset.listenerBytes) > 0`,
		"the second page to have had the seeder and the first page as peers, and bytes from the first page")
	for i, tab := range []context.Context{first, second} {
		st, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector(".player-status").textContent`))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("listener %d: %s", i+1, st)
	}
	g.waitDownloads(t, ih, 2, 30*time.Second, "the tracker to count both listeners")
}

// resolveAs makes Chromium resolve host to addr, whatever the system says.
func resolveAs(host, addr string) chromedp.ExecAllocatorOption {
	return chromedp.Flag("host-resolver-rules", "MAP "+host+" "+addr)
}

// setPublicURL sets http.public_url before the gateway starts.
func (g *gateway) setPublicURL(u string) {
	g.t.Helper()
	b, err := os.ReadFile(g.cfgPath)
	if err != nil {
		g.t.Fatal(err)
	}
	old := fmt.Sprintf("  public_url: http://127.0.0.1:%d\n", g.httpPort)
	if !bytes.Contains(b, []byte(old)) {
		g.t.Fatalf("no %q in %s", old, g.cfgPath)
	}
	b = bytes.Replace(b, []byte(old), []byte("  public_url: "+u+"\n"), 1)
	if err := os.WriteFile(g.cfgPath, b, 0o644); err != nil {
		g.t.Fatal(err)
	}
}
