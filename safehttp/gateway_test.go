package safehttp

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// standInGateway is an httptest server standing for the gateway: it serves
// the demo under /demo/ and records every other path it is asked for.
func standInGateway(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var hits []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/demo/") {
			mu.Lock()
			hits = append(hits, r.URL.RequestURI())
			mu.Unlock()
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), hits...)
	}
}

func gatewayOf(srv *httptest.Server) *Gateway {
	return &Gateway{URLs: []string{srv.URL}, Listen: srv.Listener.Addr().String(), Allow: []string{"/demo/"}}
}

func gwGet(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func TestGatewayNeverFetchesItsOwnURLs(t *testing.T) {
	gw, hits := standInGateway(t)
	_, port, _ := strings.Cut(gw.Listener.Addr().String(), ":")
	self := NewClient(Options{AllowPrivate: true, Self: true, Gateway: gatewayOf(gw)})
	// allow_private_networks on: only the gateway guard stands between a stranger's URL and us.
	media := NewClient(Options{AllowPrivate: true, Gateway: gatewayOf(gw)})

	if err := gwGet(self, gw.URL+"/demo/feed.xml"); err != nil {
		t.Fatalf("the demo must stay fetchable: %v", err)
	}
	announce := "/announce?info_hash=%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14&left=0&event=completed"
	external := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, gw.URL+announce, http.StatusFound)
	}))
	defer external.Close()
	for _, c := range []struct {
		name   string
		client *http.Client
		url    string
	}{
		{"tracker", self, gw.URL + announce},
		{"scrape", self, gw.URL + "/scrape"},
		{"own feed", self, gw.URL + "/feeds/demo.rss"},
		{"own torrent", self, gw.URL + "/torrents/0102030405060708090a0b0c0d0e0f1011121314.torrent"},
		{"dot-dot out of the demo", self, gw.URL + "/demo/../announce"},
		{"encoded dot-dot", self, gw.URL + "/demo/%2e%2e/announce"},
		{"guarded client, same name", media, gw.URL + announce},
		{"guarded client, localhost", media, "http://localhost:" + port + announce},
		{"redirect from an external URL", media, external.URL + "/ep.mp3"},
		{"redirect, self client", self, external.URL + "/ep.mp3"},
		// Another name for this machine passes the URL check; the dial is refused.
		{"v4-mapped address", media, "http://[::ffff:127.0.0.1]:" + port + announce},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := gwGet(c.client, c.url)
			if !errors.Is(err, ErrGatewayURL) {
				t.Fatalf("GET %s: %v, want ErrGatewayURL", c.url, err)
			}
		})
	}
	if h := hits(); len(h) != 0 {
		t.Fatalf("the gateway was asked for %v", h)
	}
	// The guarded client does not fetch the demo either: only the self client dials the gateway.
	if err := gwGet(media, "http://localhost:"+port+"/demo/feed.xml"); !errors.Is(err, ErrGatewayURL) {
		t.Fatalf("guarded client dialled the gateway: %v", err)
	}
	// Without the guard the same stranger's URL reaches the stand-in, so the checks above are not vacuous.
	if err := gwGet(NewClient(Options{AllowPrivate: true}), external.URL+"/ep.mp3"); err != nil || len(hits()) != 1 {
		t.Fatalf("unguarded: %v, hits %v", err, hits())
	}
}

func TestGatewayErrorNamesTheURL(t *testing.T) {
	gw, _ := standInGateway(t)
	err := gwGet(NewClient(Options{AllowPrivate: true, Self: true, Gateway: gatewayOf(gw)}), gw.URL+"/announce?left=0")
	if err == nil || !strings.Contains(err.Error(), gw.URL+"/announce?left=0") || !strings.Contains(err.Error(), "gateway itself") {
		t.Fatalf("error %v should name the URL and say why", err)
	}
}

func TestGatewayDialCheckUnspecifiedListen(t *testing.T) {
	g := compileGateway(&Gateway{URLs: []string{"https://gw.example.com"}, Listen: ":8080", Allow: []string{"/demo/"}})
	for _, c := range []struct {
		addr    string
		refused bool
	}{
		{"127.0.0.1:8080", true},
		{"127.3.4.5:8080", true},
		{"[::1]:8080", true},
		{"127.0.0.1:8081", false},
	} {
		err := g.checkDial(netip.MustParseAddrPort(c.addr))
		if errors.Is(err, ErrGatewayURL) != c.refused {
			t.Errorf("dial %s: %v, refused want %v", c.addr, err, c.refused)
		}
	}
	for _, c := range []struct {
		url     string
		refused bool
	}{
		{"https://gw.example.com/announce", true},
		{"https://GW.example.com:443/torrents/x.torrent", true},
		{"https://gw.example.com/demo/feed.xml", false},
		{"http://gw.example.com/announce", false}, // port 80: not the gateway's URL
		{"https://other.example.com/announce", false},
	} {
		u, _ := http.NewRequest(http.MethodGet, c.url, nil)
		err := g.checkURL(u.URL)
		if errors.Is(err, ErrGatewayURL) != c.refused {
			t.Errorf("%s: %v, refused want %v", c.url, err, c.refused)
		}
	}
}
