package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/geoip/geoiptest"
)

// audienceListener is one real client app standing for a listener at its own address: its
// announces reach the gateway through a trusted proxy that says so in X-Forwarded-For, and the
// test GeoIP database places that address in country.
type audienceListener struct {
	app, addr, country string
	download           downloadFunc
}

// downloadFunc has a client download torrent into dir as the listener at addr; counted says
// whether the tracker has counted that download yet, for a client that would otherwise seed on.
type downloadFunc func(t *testing.T, torrent, dir, addr string, counted func() error)

// TestAudienceClients: aria2c, libtorrent, qbittorrent-nox and transmission-cli, none of them
// written here, download the same episode from the gateway's seeder (origin media off, no web
// seed), each announcing through its own trusted proxy with a distinct X-Forwarded-For inside
// 127.0.0.0/8 that a test database written with mmdbwriter maps to a country (loopback, since
// the seeder dials the peers its tracker hands out: GUIDE section 6). The sponsor report then
// names each client app and country once, with starts and unique listeners to match.
func TestAudienceClients(t *testing.T) {
	listeners := []audienceListener{
		{"aria2", "127.0.5.1", "DE", ariaDownload(requireTool(t, "aria2c", "--version"))},
		{"libtorrent", "127.0.5.2", "FR", ltDownload(requireTool(t, "/usr/bin/python3", "-c", "import libtorrent"))},
		{"qBittorrent", "127.0.5.3", "JP", qbtDownload(requireTool(t, "qbittorrent-nox", "--version"))},
		{"Transmission", "127.0.5.4", "BR", transmissionDownload(requireTool(t, "transmission-cli", "--version"))},
	}
	countries := map[string]string{"127.0.5.250/32": "NZ"} // a neighbour no listener uses
	for _, l := range listeners {
		countries[l.addr+"/32"] = l.country
	}
	mmdb := geoiptest.Write(t, t.TempDir(), countries)

	o := newOrigin(t, 1, 2<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.setTorrentFormat("v1") // Debian's aria2 1.36 cannot join hybrid torrents (see TestDebianClients)
	trustLoopbackProxy(t, g)
	appendConfig(t, g, fmt.Sprintf("audience:\n  geoip_db: %s\nsponsors:\n  - name: acme\n    token: %q\n    feeds: [show]\n",
		mmdb, sponsorToken))
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
	dir := t.TempDir()
	for i, l := range listeners {
		// The same info (so the same swarm), announcing over HTTP through l's proxy only: the UDP
		// tracker would see the client's own address.
		announce := listenerProxy(t, gw, l.addr) + "/announce"
		mi.Announce, mi.AnnounceList, mi.UrlList = announce, [][]string{{announce}}, nil
		torrent := filepath.Join(dir, l.app+".torrent")
		writeTorrent(t, torrent, mi)
		save := filepath.Join(dir, l.app)
		if err := os.MkdirAll(save, 0o755); err != nil {
			t.Fatal(err)
		}
		counted := func() error {
			_, _, downloaded, err := g.scrape(ih)
			if err != nil {
				return err
			}
			if downloaded != int64(i+1) {
				return fmt.Errorf("downloaded = %d, want %d", downloaded, i+1)
			}
			return nil
		}
		start := time.Now()
		l.download(t, torrent, save, l.addr, counted)
		t.Logf("%s downloaded the episode in %s", l.app, time.Since(start).Round(time.Millisecond))
		checkFile(t, filepath.Join(save, info.Name), ep.Body, l.app)
		waitFor(t, 30*time.Second, "the tracker to count "+l.app, counted)
	}

	wantClients, wantCountries := map[string]int64{}, map[string]int64{}
	for _, l := range listeners {
		wantClients[l.app]++
		wantCountries[l.country]++
	}
	n := int64(len(listeners))
	var rep audienceReport
	waitFor(t, 30*time.Second, "the report to name every client and country", func() error {
		code, body, err := getReport(g.baseURL()+"/reports/show.json", sponsorToken)
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("status %d: %s", code, body)
		}
		rep = audienceReport{}
		if err := json.Unmarshal(body, &rep); err != nil {
			return err
		}
		if len(rep.Episodes) != 1 {
			return fmt.Errorf("%d episodes", len(rep.Episodes))
		}
		e := rep.Episodes[0]
		switch {
		case e.Downloads != n:
			return fmt.Errorf("downloads = %d, want %d", e.Downloads, n)
		case !maps.Equal(e.Clients, wantClients):
			return fmt.Errorf("clients = %v, want %v", e.Clients, wantClients)
		case !maps.Equal(e.Countries, wantCountries):
			return fmt.Errorf("countries = %v, want %v", e.Countries, wantCountries)
		}
		return nil
	})
	e := rep.Episodes[0]
	t.Logf("episode figures: downloads %d, completions %d, starts %d, uniques %+v, clients %v, countries %v, bandwidth %+v",
		e.Downloads, e.Completions, e.Starts, e.UniqueListeners, e.Clients, e.Countries, e.Bandwidth)
	// Each listener started once and finished once, at its own address and app.
	if e.Starts != n || e.CompletionRate == nil || *e.CompletionRate != 1 {
		t.Errorf("starts = %d, completion_rate = %v; want %d and 1", e.Starts, e.CompletionRate, n)
	}
	if e.Completions < n {
		t.Errorf("completions = %d, want >= %d", e.Completions, n)
	}
	if u := e.UniqueListeners; u.H24 != n || u.D7 != n || u.D30 != n {
		t.Errorf("unique_listeners = %+v, want %d in every window", u, n)
	}
	// The episode was released a day ago (newOrigin): every download fell in its first week.
	if s := e.SinceRelease; s.D7 != n || s.D30 != n {
		t.Errorf("since_release = %+v, want %d in 7d and 30d", s, n)
	}
	if u := rep.Totals.UniqueListeners; u.D30 != n || !maps.Equal(rep.Totals.Clients, wantClients) ||
		!maps.Equal(rep.Totals.Countries, wantCountries) {
		t.Errorf("totals: uniques %+v, clients %v, countries %v", u, rep.Totals.Clients, rep.Totals.Countries)
	}
	g.stop()

	// The seeder's uploads are written every minute and at shutdown: the CLI reads them after.
	// Every byte came from the seeder, so it uploaded at least one copy per listener.
	out, err := exec.Command(binary, "report", "-config", g.cfgPath, "-feed", "show", "-format", "json").Output()
	if err != nil {
		t.Fatalf("seedcast report: %v\n%s", err, out)
	}
	rep = audienceReport{}
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Episodes) != 1 {
		t.Fatalf("seedcast report -format json: %v\n%s", err, out)
	}
	if b := rep.Episodes[0].Bandwidth; b.DeliveredBytes != n*int64(len(ep.Body)) || b.SeedboxBytes < b.DeliveredBytes {
		t.Errorf("bandwidth = %+v, want delivered %d and seedbox >= delivered", b, n*int64(len(ep.Body)))
	}

	// The page, with the seeder's uploads now stored (docs/report.png with -update-docs).
	g.start()
	screenshotReport(t, g.baseURL()+"/reports/show?token="+sponsorToken, true)
	g.stop()
}

type audienceWindows struct {
	H24 int64 `json:"24h"`
	D7  int64 `json:"7d"`
	D30 int64 `json:"30d"`
}

type audienceFigures struct {
	Downloads       int64            `json:"downloads"`
	Completions     int64            `json:"completions"`
	Starts          int64            `json:"starts"`
	CompletionRate  *float64         `json:"completion_rate"`
	Clients         map[string]int64 `json:"clients"`
	Countries       map[string]int64 `json:"countries"`
	SinceRelease    audienceWindows  `json:"since_release"`
	UniqueListeners audienceWindows  `json:"unique_listeners"`
	Bandwidth       struct {
		SeedboxBytes   int64 `json:"seedbox_bytes"`
		DeliveredBytes int64 `json:"delivered_bytes"`
	} `json:"bandwidth"`
}

type audienceReport struct {
	Episodes []audienceFigures `json:"episodes"`
	Totals   audienceFigures   `json:"totals"`
}

// appendConfig adds top-level keys to the gateway's config before it starts.
func appendConfig(t *testing.T, g *gateway, yaml string) {
	t.Helper()
	b, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g.cfgPath, append(b, yaml...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ariaDownload runs aria2c, its sockets bound to the listener's address, until it has the file and has told
// the tracker (--seed-time=0: a `stopped` announce with left=0).
func ariaDownload(bin string) downloadFunc {
	return func(t *testing.T, torrent, dir, addr string, _ func() error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, "--seed-time=0", "--enable-dht=false", "--enable-dht6=false",
			"--bt-enable-lpd=false", "--enable-peer-exchange=false", "--file-allocation=none",
			"--bt-tracker-connect-timeout=10", "--bt-stop-timeout=60", "--summary-interval=0",
			"--interface="+addr, "--listen-port="+fmt.Sprint(freePort(t)), "--dir="+dir, torrent).CombinedOutput()
		if err != nil {
			t.Fatalf("aria2c: %v\n%s", err, out)
		}
	}
}

// ltDownload runs testdata/lt_download.py (python3-libtorrent), which listens on 127.0.0.1: the
// seeder cannot dial it at its proxy's address, but it dials the seeder.
func ltDownload(python string) downloadFunc {
	return func(t *testing.T, torrent, dir, _ string, _ func() error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, python, "testdata/lt_download.py", torrent, dir, "80").CombinedOutput()
		if err != nil {
			t.Fatalf("libtorrent: %v\n%s", err, out)
		}
	}
}

// logTail is the end of a client's log, for a failure message.
func logTail(s string) string {
	const keep = 4000
	if len(s) > keep {
		s = "…" + s[len(s)-keep:]
	}
	return strings.TrimSpace(s)
}
