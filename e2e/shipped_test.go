package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShippedConfig runs the binary on the repository's own config.yaml
// (only data_dir moved to a temporary directory, the DHT bootstrapped on loopback): offline, it serves the demo
// podcast, republishes it as torrents within a minute, and a stock client
// downloads an episode.
func TestShippedConfig(t *testing.T) {
	aria2 := requireTool(t, "aria2c", "--version")
	shipped, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	cfg := strings.Replace(string(shipped), "data_dir: ./data", "data_dir: "+dataDir, 1)
	if cfg == string(shipped) {
		t.Fatal("shipped config.yaml has no `data_dir: ./data` line to redirect")
	}
	// The DHT stays on, but its bootstrap goes to a loopback port nobody answers instead of the
	// public routers: no test sends traffic off this machine, and an unreachable bootstrap must
	// neither hold up the start nor fill the log with warnings.
	withDHT := strings.Replace(cfg, "  dht: true ", "  dht_bootstrap: [127.0.0.1:9]\n  dht: true ", 1)
	if withDHT == cfg {
		t.Fatal("shipped config.yaml has no `  dht: true` line")
	}
	cfg = withDHT
	g := &gateway{t: t, dataDir: dataDir, httpPort: 8080, udpPort: 6969, peerPort: 6881,
		cfgPath: filepath.Join(t.TempDir(), "config.yaml")}
	if err := os.WriteFile(g.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// The shipped config uses fixed ports; a process already on them would
	// answer /healthz in the gateway's place.
	for _, addr := range []string{"127.0.0.1:8080", ":6881"} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the shipped config needs %s free: %v", addr, err)
		}
		l.Close()
	}
	g.start()
	feed := g.waitPublished("demo", 3, 60*time.Second)
	if feed.Title != "Seedcast Demo" {
		t.Fatalf("demo feed title = %q", feed.Title)
	}

	// Download the newest episode with aria2c, the way a newcomer would:
	// straight from the .torrent URL in the feed.
	var torrentURL, guid string
	for _, it := range feed.Items {
		for _, e := range it.Enclosures {
			if e.Type == "application/x-bittorrent" && torrentURL == "" {
				torrentURL, guid = e.URL, it.GUID
			}
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, aria2, "--seed-time=0", "--enable-dht=false", "--bt-enable-lpd=false",
		"--summary-interval=0", "--dir="+dir, torrentURL).CombinedOutput()
	if err != nil {
		t.Fatalf("aria2c %s: %v\n%s", torrentURL, err, out)
	}
	n := strings.TrimPrefix(guid, "seedcast-demo-")
	resp, err := http.Get(g.baseURL() + "/demo/episode-" + n + ".wav")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*.wav"))
	if len(files) != 1 {
		t.Fatalf("aria2c left %v, want one .wav", files)
	}
	checkFile(t, files[0], want, "aria2c")
	logs := g.logs.String()
	if !strings.Contains(logs, `msg="dht node listening"`) {
		t.Error("the shipped config did not start the DHT node")
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "dht") && (strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR")) {
			t.Errorf("the shipped config's DHT logged %s", line)
		}
	}
	g.stop()
}

// TestShippedConfigOffline runs the shipped config.yaml unchanged but for data_dir, DHT routers
// and all, inside a network namespace of its own (unshare -n: loopback only, so nothing can leave
// the machine): the DNS lookups of the routers fail, the gateway says so once at INFO, publishes
// the demo podcast as on any day, and logs no warning or error.
func TestShippedConfigOffline(t *testing.T) {
	unshare := requireTool(t, "unshare", "-n", "true")
	shipped, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	cfg := strings.Replace(string(shipped), "data_dir: ./data", "data_dir: "+dataDir, 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd := exec.Command(unshare, "-n", "sh", "-c", `ip link set lo up && exec "$0" serve -config "$1" -log-level debug`,
		binary, cfgPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
		}
	}()
	waitFor(t, 60*time.Second, "three demo episodes published and the DHT bootstrap given up", func() error {
		select {
		case err := <-exited:
			t.Fatalf("seedcast exited: %v\n%s", err, logs.String())
		default:
		}
		out := logs.String()
		if n := strings.Count(out, "msg=published"); n < 3 || !strings.Contains(out, `msg="dht bootstrap nodes not resolved`) {
			return fmt.Errorf("%d published, DHT bootstrap given up: %v", n, strings.Contains(out, "dht bootstrap"))
		}
		return nil
	})
	out := logs.String()
	if n := strings.Count(out, "dht bootstrap nodes not resolved"); n != 1 {
		t.Errorf("the failed DHT bootstrap was reported %d times, want once", n)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			t.Errorf("offline, the shipped config logged %s", line)
		}
	}
}
