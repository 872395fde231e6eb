package metrics

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPrometheusScrapes: Debian's Prometheus scrapes the token-guarded /metrics and its query
// API returns the announce counter with the value real announces gave it.
func TestPrometheusScrapes(t *testing.T) {
	bin := requireTool(t, "prometheus", "--version")
	g := newGateway(t)
	for i := range 3 {
		g.announceHTTP(t, fmt.Sprintf("-XX0001-%012d", i))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Protected(g.m.Handler(), sha256.Sum256([]byte(testToken)), true))
	target := httptest.NewServer(mux)
	defer target.Close()

	dir := t.TempDir()
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: seedcast
    authorization:
      type: Bearer
      credentials: %q
    static_configs:
      - targets: [%[2]q]
  - job_name: wrong-token
    authorization:
      type: Bearer
      credentials: not-the-token-0123456789
    static_configs:
      - targets: [%[2]q]
`, testToken, strings.TrimPrefix(target.URL, "http://"))
	confPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+confPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus:\n%s", logs.String())
		}
	}()

	query := "http://" + addr + "/api/v1/query?query=" + url.QueryEscape(`seedcast_tracker_announces_total{protocol="http",result="ok"}`)
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for {
		if v, err := queryValue(query); err == nil && v == "3" {
			break
		} else {
			last = fmt.Sprintf("value %q, err %v", v, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never returned seedcast_tracker_announces_total 3: last %s", last)
		}
		time.Sleep(200 * time.Millisecond) // polling interval, not a timing assertion
	}
	// The same target scraped with another token is down: the series came through the token check.
	wrong := "http://" + addr + "/api/v1/query?query=" + url.QueryEscape(`up{job="wrong-token"}`)
	for {
		v, err := queryValue(wrong)
		if err == nil && v == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("up{job=\"wrong-token\"} = %q, %v; want 0", v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// queryValue returns the value of the one series an instant query returns.
func queryValue(u string) (string, error) {
	resp, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", err
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return "", fmt.Errorf("status %q, %d series", r.Status, len(r.Data.Result))
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return s, nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// requireTool finds a Debian tool; missing, the test fails under SEEDCAST_REQUIRE_PEERS (the
// full suite) and skips otherwise.
func requireTool(t *testing.T, name string, check ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil && len(check) > 0 {
		err = exec.Command(path, check...).Run()
	}
	if err != nil {
		if os.Getenv("SEEDCAST_REQUIRE_PEERS") != "" {
			t.Fatalf("%s is required (install the Debian package): %v", name, err)
		}
		t.Skipf("%s not available: %v", name, err)
	}
	return path
}
