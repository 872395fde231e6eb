package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var updateDocs = flag.Bool("update-docs", false, "copy the report screenshot to docs/report.png")

const (
	sponsorToken = "acme-e2e-token-0123456789"
	otherToken   = "other-e2e-token-0123456789"
)

// opentracker is Debian's opentracker, which only tracks allow-listed hashes.
type opentracker struct {
	dir, whitelist string
	port           int
	cmd            *exec.Cmd
}

func startOpentracker(t *testing.T, bin string) *opentracker {
	t.Helper()
	ot := &opentracker{dir: t.TempDir(), port: freePort(t)}
	// Run as root it chroots to -d and drops to nobody, who must read the list.
	os.Chmod(ot.dir, 0o755)
	ot.whitelist = filepath.Join(ot.dir, "whitelist")
	if err := os.WriteFile(ot.whitelist, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ot.port)
	ot.cmd = exec.Command(bin, "-i", "127.0.0.1", "-p", port, "-P", port, "-d", ot.dir, "-w", "whitelist")
	logs := &syncBuffer{}
	ot.cmd.Stdout, ot.cmd.Stderr = logs, logs
	if err := ot.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ot.cmd.Process.Kill()
		ot.cmd.Wait()
		if t.Failed() {
			t.Logf("opentracker log:\n%s", logs.String())
		}
	})
	return ot
}

func (ot *opentracker) httpURL() string { return fmt.Sprintf("http://127.0.0.1:%d/announce", ot.port) }
func (ot *opentracker) udpURL() string  { return fmt.Sprintf("udp://127.0.0.1:%d/announce", ot.port) }

// allow writes the hashes to the whitelist, sends SIGHUP and waits until
// opentracker accepts an announce for each (a probe peer that then stops, so
// it leaves no trace in the figures).
func (ot *opentracker) allow(t *testing.T, hashes []string) {
	t.Helper()
	if err := os.WriteFile(ot.whitelist, []byte(strings.Join(hashes, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ot.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for _, h := range hashes {
		raw, _ := hex.DecodeString(h)
		q := "?info_hash=" + urlEscapeBytes(raw) + "&peer_id=-PR0001-probeprobepr&port=9&uploaded=0&downloaded=0&left=1"
		waitFor(t, 10*time.Second, "opentracker to allow "+h, func() error {
			body, err := httpGetBody(ot.httpURL() + q + "&event=started")
			if err != nil {
				return err
			}
			if strings.Contains(body, "failure reason") {
				return fmt.Errorf("%s", body)
			}
			_, err = httpGetBody(ot.httpURL() + q + "&event=stopped")
			return err
		})
	}
}

func httpGetBody(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// addReportConfig makes the gateway scrape every 2s, announce to opentracker
// over HTTP and UDP, and know two sponsors.
func addReportConfig(t *testing.T, g *gateway, ot *opentracker) {
	t.Helper()
	b, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), `scrape: "@every 1h"`, `scrape: "@every 2s"`, 1)
	cfg = strings.Replace(cfg, "tracker:\n", fmt.Sprintf("tracker:\n  extra_announce:\n    - %s\n    - %s\n",
		ot.httpURL(), ot.udpURL()), 1)
	sum := sha256.Sum256([]byte(otherToken))
	cfg += fmt.Sprintf("sponsors:\n  - name: acme\n    token: %q\n    feeds: [show]\n"+
		"  - name: other\n    token_sha256: %q\n    feeds: []\n", sponsorToken, hex.EncodeToString(sum[:]))
	if err := os.WriteFile(g.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

type jsonReport struct {
	Feed     string `json:"feed"`
	Episodes []struct {
		GUID      string `json:"guid"`
		InfoHash  string `json:"info_hash"`
		Downloads int64  `json:"downloads"`
		Trackers  []struct {
			URL        string    `json:"url"`
			Complete   int64     `json:"complete"`
			Downloaded int64     `json:"downloaded"`
			ScrapedAt  time.Time `json:"scraped_at"`
		} `json:"trackers"`
	} `json:"episodes"`
	Totals struct {
		Downloads int64 `json:"downloads"`
	} `json:"totals"`
}

func getReport(url, bearer string) (int, []byte, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, nil, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// TestSponsorReport: aria2c and libtorrent download every episode from the
// seeder, libtorrent also announcing to Debian's opentracker (an
// extra_announce tracker, over HTTP and UDP); the scrape job then stores what
// each tracker says, and the report shows downloads >= 2 per episode with
// opentracker's own figures beside them, in JSON, CSV, HTML, the CLI and a
// headless Chromium screenshot.
func TestSponsorReport(t *testing.T) {
	aria2 := requireTool(t, "aria2c", "--version")
	python := requireTool(t, "/usr/bin/python3", "-c", "import libtorrent")
	otBin := requireTool(t, "opentracker")

	ot := startOpentracker(t, otBin)
	o := newOrigin(t, 2, 1<<20)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.setTorrentFormat("v1") // Debian's aria2 1.36 cannot join hybrid torrents (see TestDebianClients)
	addReportConfig(t, g, ot)
	g.start()
	feed := g.waitPublished("show", 2, 60*time.Second)
	o.serveMedia.Store(false)

	urls := torrentURLs(feed)
	var hashes []string
	dir := t.TempDir()
	for i, e := range o.episodes {
		mi := fetchTorrent(t, urls[e.GUID])
		hashes = append(hashes, mi.HashInfoBytes().HexString())
		mi.UrlList = nil // every byte from the seeder
		writeTorrent(t, filepath.Join(dir, fmt.Sprintf("ep%d.torrent", i)), mi)
	}
	ot.allow(t, hashes)

	for i, e := range o.episodes {
		torrent := filepath.Join(dir, fmt.Sprintf("ep%d.torrent", i))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		ariaDir := filepath.Join(dir, fmt.Sprintf("aria2-%d", i))
		out, err := exec.CommandContext(ctx, aria2, "--seed-time=0", "--enable-dht=false", "--enable-dht6=false",
			"--bt-enable-lpd=false", "--enable-peer-exchange=false", "--file-allocation=none",
			"--bt-tracker-connect-timeout=10", "--bt-stop-timeout=60", "--summary-interval=0",
			"--listen-port="+fmt.Sprint(freePort(t)), "--dir="+ariaDir, torrent).CombinedOutput()
		if err != nil {
			cancel()
			t.Fatalf("aria2c episode %d: %v\n%s", i+1, err, out)
		}
		ltDir := filepath.Join(dir, fmt.Sprintf("lt-%d", i))
		os.MkdirAll(ltDir, 0o755)
		out, err = exec.CommandContext(ctx, python, "testdata/lt_download.py", torrent, ltDir, "50", "all").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("libtorrent episode %d: %v\n%s", i+1, err, out)
		}
		for _, d := range []string{ariaDir, ltDir} {
			entries, _ := os.ReadDir(d)
			if len(entries) == 0 {
				t.Fatalf("nothing downloaded into %s", d)
			}
			checkFile(t, filepath.Join(d, entries[0].Name()), e.Body, d)
		}
	}

	reportURL := g.baseURL() + "/reports/show"
	var rep jsonReport
	waitFor(t, 30*time.Second, "the report to show both downloads and opentracker's figures", func() error {
		code, body, err := getReport(reportURL+".json", sponsorToken)
		if err != nil {
			return err
		}
		if code != 200 {
			return fmt.Errorf("status %d: %s", code, body)
		}
		rep = jsonReport{}
		if err := json.Unmarshal(body, &rep); err != nil {
			return err
		}
		if len(rep.Episodes) != 2 {
			return fmt.Errorf("%d episodes", len(rep.Episodes))
		}
		for _, e := range rep.Episodes {
			if e.Downloads < 2 {
				return fmt.Errorf("%s: downloads = %d, want >= 2", e.GUID, e.Downloads)
			}
			seen := map[string]int64{}
			for _, tr := range e.Trackers {
				seen[tr.URL] = tr.Downloaded
			}
			for _, u := range []string{g.baseURL() + "/announce", ot.httpURL(), ot.udpURL()} {
				if n, ok := seen[u]; !ok || n < 1 {
					return fmt.Errorf("%s: tracker %s downloaded = %d (listed %v)", e.GUID, u, n, ok)
				}
			}
		}
		return nil
	})
	t.Logf("report: %+v", rep)

	// Auth: 401 without a token or with an unknown one, 403 for a sponsor
	// not given this feed.
	for _, c := range []struct {
		bearer, query string
		want          int
	}{{"", "", 401}, {"wrong-token-wrong-token", "", 401}, {otherToken, "", 403}, {"", "?token=" + otherToken, 403}} {
		if code, _, err := getReport(reportURL+".json"+c.query, c.bearer); err != nil || code != c.want {
			t.Errorf("token %q%s: status %d (%v), want %d", c.bearer, c.query, code, err, c.want)
		}
	}
	code, csvBody, err := getReport(reportURL+".csv?token="+sponsorToken, "")
	if err != nil || code != 200 || !strings.HasPrefix(string(csvBody), "feed,guid,title,published,info_hash,downloads,") ||
		!strings.Contains(string(csvBody), ot.udpURL()+" downloaded") || bytes.Count(csvBody, []byte("\n")) != 3 {
		t.Errorf("csv: %d %v\n%s", code, err, csvBody)
	}

	// The CLI reads the same store (WAL: alongside the running gateway).
	out, err := exec.Command(binary, "report", "-config", g.cfgPath, "-feed", "show", "-format", "table").CombinedOutput()
	if err != nil || !strings.Contains(string(out), ot.httpURL()) || !strings.Contains(string(out), "downloads:") {
		t.Errorf("seedcast report: %v\n%s", err, out)
	}

	// docs/report.png comes from TestAudienceClients, whose report has every client and country.
	screenshotReport(t, reportURL+"?token="+sponsorToken, false)
	g.stop()
}

// screenshotReport opens the page in headless Chromium and checks the
// picture holds the chart's bars and the table's header cells; with docs and
// -update-docs, it copies the picture to docs/report.png.
func screenshotReport(t *testing.T, url string, docs bool) {
	t.Helper()
	chromium := requireTool(t, "/usr/bin/chromium", "--version")
	shot := filepath.Join(t.TempDir(), "report.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir="+t.TempDir(), "--screenshot="+shot, "--window-size=1280,2900", url).CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v\n%s", err, out)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	bars := countColor(img, 0x1f, 0x6f, 0xeb)        // chart bars (and the legend swatch)
	header := countColor(img, 0xe8, 0xee, 0xf7)      // table header cells
	marker := countColor(img, 0xd9, 0x48, 0x0f)      // release markers (and the legend swatch)
	if bars < 400 || header < 5000 || marker < 200 { // the legend swatches alone are 144 pixels each
		t.Errorf("screenshot lacks the chart or the table: %d bar, %d header, %d marker pixels", bars, header, marker)
	}
	t.Logf("screenshot %v: %d bar, %d header, %d marker pixels", img.Bounds().Size(), bars, header, marker)
	if docs && *updateDocs {
		b, _ := os.ReadFile(shot)
		if err := os.WriteFile("../docs/report.png", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func countColor(img image.Image, r, g, b uint8) int {
	n := 0
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if uint8(cr>>8) == r && uint8(cg>>8) == g && uint8(cb>>8) == b {
				n++
			}
		}
	}
	return n
}
