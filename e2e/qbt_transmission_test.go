package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// qbtConf is qBittorrent-nox 4.5's profile: the legal notice accepted (it asks on the terminal
// otherwise), the Web API on loopback without a login for localhost, peers over TCP on the
// listener's address only, and no DHT, LSD, PeX or port mapping, so the torrent's tracker is the
// only way to find a peer and nothing leaves the machine.
const qbtConf = `[LegalNotice]
Accepted=true

[BitTorrent]
Session\DHTEnabled=false
Session\LSDEnabled=false
Session\PeXEnabled=false
Session\BTProtocol=TCP
Session\Port=%d
Session\InterfaceAddress=%s
Session\QueueingSystemEnabled=false
Session\DefaultSavePath=%s
Session\TempPathEnabled=false

[Network]
PortForwardingEnabled=false

[Preferences]
General\Locale=en
WebUI\Address=127.0.0.1
WebUI\Port=%d
WebUI\LocalHostAuth=false
WebUI\CSRFProtection=false
WebUI\HostHeaderValidation=false
WebUI\UseUPnP=false
`

// qbtDownload runs qbittorrent-nox with a fresh profile, adds the torrent through its Web API,
// waits until it has the whole file, then pauses it (a `stopped` announce) and shuts it down.
func qbtDownload(bin string) downloadFunc {
	return func(t *testing.T, torrent, dir, addr string, _ func() error) {
		t.Helper()
		profile := t.TempDir()
		confDir := filepath.Join(profile, "qBittorrent", "config")
		if err := os.MkdirAll(confDir, 0o755); err != nil {
			t.Fatal(err)
		}
		webPort := freePort(t)
		conf := fmt.Sprintf(qbtConf, freePort(t), addr, dir, webPort)
		if err := os.WriteFile(filepath.Join(confDir, "qBittorrent.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		logs := &syncBuffer{}
		cmd := exec.Command(bin, "--profile="+profile, fmt.Sprintf("--webui-port=%d", webPort))
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		defer func() {
			cmd.Process.Kill()
			<-exited
			if t.Failed() {
				t.Logf("qbittorrent-nox output:\n%s", logTail(logs.String()))
			}
		}()
		api := fmt.Sprintf("http://127.0.0.1:%d/api/v2", webPort)
		waitFor(t, 30*time.Second, "qBittorrent's Web API", func() error {
			_, err := qbtGet(api + "/app/version")
			return err
		})
		if err := qbtAddTorrent(api, torrent, dir); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 90*time.Second, "qBittorrent to download the episode", func() error {
			body, err := qbtGet(api + "/torrents/info")
			if err != nil {
				return err
			}
			var ts []struct {
				Progress float64 `json:"progress"`
				State    string  `json:"state"`
			}
			if err := json.Unmarshal(body, &ts); err != nil {
				return fmt.Errorf("torrents/info: %w: %s", err, body)
			}
			if len(ts) != 1 || ts[0].Progress < 1 {
				return fmt.Errorf("torrents/info: %s", body)
			}
			return nil
		})
		// libtorrent (qBittorrent's engine) announces `completed` on its own; pausing then
		// announces `stopped`, and shutting down waits for that announce to go out.
		if _, err := qbtPost(api+"/torrents/pause", "hashes=all"); err != nil {
			t.Fatal(err)
		}
		if _, err := qbtPost(api+"/app/shutdown", ""); err != nil {
			t.Fatal(err)
		}
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Fatal("qbittorrent-nox did not exit within 30s of /app/shutdown")
		}
	}
}

func qbtGet(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: status %d: %s", url, resp.StatusCode, b)
	}
	return b, err
}

func qbtPost(url, form string) ([]byte, error) {
	resp, err := http.Post(url, "application/x-www-form-urlencoded", bytes.NewBufferString(form))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("POST %s: status %d: %s", url, resp.StatusCode, b)
	}
	return b, err
}

// qbtAddTorrent uploads the .torrent file to /torrents/add, saving into dir.
func qbtAddTorrent(api, torrent, dir string) error {
	b, err := os.ReadFile(torrent)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("torrents", filepath.Base(torrent))
	if err != nil {
		return err
	}
	part.Write(b)
	w.WriteField("savepath", dir)
	w.WriteField("paused", "false")
	w.Close()
	resp, err := http.Post(api+"/torrents/add", w.FormDataContentType(), &body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(out) != "Ok." {
		return fmt.Errorf("POST /torrents/add: status %d: %s", resp.StatusCode, out)
	}
	return nil
}

// transmissionSettings is transmission-cli 3.00's settings.json: peers over TCP on the
// listener's address only, no DHT, LSD, PeX or port mapping. No seed ratio limit: reaching one
// makes transmission-cli 3.00 pause and exit without telling the tracker it completed.
const transmissionSettings = `{
  "bind-address-ipv4": %q,
  "bind-address-ipv6": "::1",
  "dht-enabled": false,
  "lpd-enabled": false,
  "pex-enabled": false,
  "utp-enabled": false,
  "port-forwarding-enabled": false,
  "peer-port": %d,
  "peer-port-random-on-start": false,
  "download-dir": %q,
  "incomplete-dir-enabled": false,
  "ratio-limit-enabled": false,
  "rpc-enabled": false,
  "blocklist-enabled": false,
  "message-level": 2
}
`

// transmissionDownload runs transmission-cli until the tracker has counted its download (its
// `completed` announce), then interrupts it: transmission-cli seeds until told to stop.
// Transmission 3.00 does not dial the seeder the tracker hands it on loopback (seen here: it
// gets the peer and never connects), so the bytes flow once the seeder's next announce (every
// 20 s in these tests) hands it the listener's address and the seeder dials in: about 20 s.
func transmissionDownload(bin string) downloadFunc {
	return func(t *testing.T, torrent, dir, addr string, counted func() error) {
		t.Helper()
		conf := t.TempDir()
		settings := fmt.Sprintf(transmissionSettings, addr, freePort(t), dir)
		if err := os.WriteFile(filepath.Join(conf, "settings.json"), []byte(settings), 0o644); err != nil {
			t.Fatal(err)
		}
		logs := &syncBuffer{}
		cmd := exec.Command(bin, "-g", conf, "-w", dir, "-M", "-D", "-U", torrent)
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		defer func() {
			cmd.Process.Kill()
			<-exited
			if t.Failed() {
				t.Logf("transmission-cli output:\n%s", logTail(logs.String()))
			}
		}()
		waitFor(t, 90*time.Second, "Transmission to download the episode and tell the tracker", func() error {
			select {
			case <-exited:
				t.Fatalf("transmission-cli exited early: %v", cmd.ProcessState)
			default:
			}
			return counted()
		})
		// SIGINT: transmission-cli stops the torrent and exits.
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Fatal("transmission-cli did not exit within 30s of SIGINT")
		}
	}
}
