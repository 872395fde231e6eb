package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShippedConfigLoads(t *testing.T) {
	c, err := Load(filepath.Join("..", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Feeds) == 0 || c.Feeds[0].Slug != "demo" {
		t.Fatalf("shipped config should subscribe to the demo feed, got %+v", c.Feeds)
	}
	if !c.DemoEnabled() {
		t.Fatal("shipped config should serve the demo podcast")
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "./data" || c.HTTP.PublicURL != "http://127.0.0.1:8080" || c.Seedbox.PeerPort != 6881 ||
		c.Schedule.Poll != "@every 15m" || c.Fetch.MaxFeedBytes != 20<<20 || c.Seedbox.Hybrid() {
		t.Fatalf("defaults = %+v", c)
	}
}

// The DHT is on with the well-known routers unless the file says otherwise; an empty list means
// no bootstrap node at all (what tests and offline installs use), not the default.
func TestDHTKeys(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		on   bool
		boot []string
	}{
		{"", true, DefaultDHTBootstrap()},
		{"seedbox:\n  dht: false\n", false, DefaultDHTBootstrap()},
		{"seedbox:\n  dht_bootstrap: []\n", true, []string{}},
		{"seedbox:\n  dht_bootstrap: [127.0.0.1:6881, \"[::1]:6881\", node.example:1]\n", true,
			[]string{"127.0.0.1:6881", "[::1]:6881", "node.example:1"}},
	} {
		c, err := Parse([]byte(tc.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if c.Seedbox.DHTEnabled() != tc.on || fmt.Sprint(c.Seedbox.DHTBootstrap) != fmt.Sprint(tc.boot) ||
			c.Seedbox.DHTBootstrap == nil {
			t.Errorf("%q: dht %v bootstrap %#v, want %v %#v", tc.yaml, c.Seedbox.DHTEnabled(), c.Seedbox.DHTBootstrap, tc.on, tc.boot)
		}
	}
}

func TestTorrentFormatHybrid(t *testing.T) {
	c, err := Parse([]byte("seedbox:\n  torrent_format: hybrid\n"))
	if err != nil || !c.Seedbox.Hybrid() {
		t.Fatalf("torrent_format hybrid: hybrid = %v, %v", c != nil && c.Seedbox.Hybrid(), err)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", "data_dri: x\n", `unknown key "data_dri" in the top level`},
		{"unknown nested key", "http:\n  listn: x\n", `unknown key "listn" in http`},
		{"unknown feed key", "feeds:\n  - slug: a\n    url: http://x/\n    shedule: '@daily'\n", `unknown key "shedule" in a feeds entry`},
		{"bad cron", "schedule:\n  poll: every tuesday\n", "schedule.poll"},
		{"bad every", "schedule:\n  scrape: '@every soon'\n", "schedule.scrape"},
		{"bad feed schedule", "feeds:\n  - slug: a\n    url: http://x/\n    schedule: '* *'\n", "feeds[0].schedule"},
		{"bad slug", "feeds:\n  - slug: Bad/Slug\n    url: http://x/\n", "feeds[0].slug"},
		{"duplicate slug", "feeds:\n  - slug: a\n    url: http://x/\n  - slug: a\n    url: http://y/\n", `feeds[1].slug: "a" is used twice`},
		{"feed url scheme", "feeds:\n  - slug: a\n    url: file:///etc/passwd\n", "feeds[0].url"},
		{"bad timeout", "fetch:\n  feed_timeout: soon\n", "fetch.feed_timeout"},
		{"bad announce interval", "tracker:\n  announce_interval: 0s\n", "tracker.announce_interval"},
		{"negative header timeout", "fetch:\n  header_timeout: -1s\n", "fetch.header_timeout"},
		{"zero enclosure timeout", "fetch:\n  enclosure_timeout: 0s\n", "fetch.enclosure_timeout"},
		{"bad tracker", "tracker:\n  extra_announce: [ftp://x/announce]\n", "tracker.extra_announce[0]"},
		{"bad ice server", "seedbox:\n  ice_servers: [\"stun:127.0.0.1:3478\", \"http://stun.example\"]\n", "seedbox.ice_servers[1]"},
		{"negative download rate", "tracker:\n  max_download_rate: -5\n", "tracker.max_download_rate"},
		{"bad public url", "http:\n  public_url: example.com\n", "http.public_url"},
		{"public pprof", "http:\n  pprof_listen: 0.0.0.0:6060\n", "http.pprof_listen"},
		{"pprof without port", "http:\n  pprof_listen: 127.0.0.1\n", "http.pprof_listen"},
		{"public metrics", "http:\n  metrics_listen: 0.0.0.0:9464\n", "http.metrics_listen"},
		{"short admin token", "admin:\n  token: short\n", "admin.token"},
		{"bad admin hash", "admin:\n  token_sha256: abc\n", "admin.token_sha256"},
		{"two admin tokens", "admin:\n  token: 0123456789abcdef0\n  token_sha256: " + strings.Repeat("0", 64) + "\n", "admin.token or admin.token_sha256"},
		{"bad trusted proxy", "http:\n  trusted_proxies: [127.0.0.1, proxy.local]\n", "http.trusted_proxies[1]"},
		{"sponsor unknown feed", "feeds:\n  - slug: a\n    url: http://x/\nsponsors:\n  - name: acme\n    token: 0123456789abcdef0\n    feeds: [b]\n", "sponsors[0].feeds[0]"},
		{"bad torrent format", "seedbox:\n  torrent_format: v2\n", "seedbox.torrent_format"},
		{"sponsor short token", "sponsors:\n  - name: acme\n    token: short\n", "sponsors[0].token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error for %q", tc.yaml)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestLoadNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("nope: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v should name %s", err, path)
	}
}

func FuzzParse(f *testing.F) {
	shipped, _ := os.ReadFile(filepath.Join("..", "config.yaml"))
	f.Add(shipped)
	f.Add([]byte("feeds:\n  - slug: a\n    url: http://x/\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}

func TestPprofListenLoopbackOnly(t *testing.T) {
	for _, key := range []string{"pprof_listen", "metrics_listen"} {
		for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060"} {
			c, err := Parse([]byte("http:\n  " + key + ": \"" + addr + "\"\n"))
			if err != nil {
				t.Errorf("%s %s: %v", key, addr, err)
				continue
			}
			if got := map[string]string{"pprof_listen": c.HTTP.PprofListen, "metrics_listen": c.HTTP.MetricsListen}[key]; got != addr {
				t.Errorf("%s = %q, want %q", key, got, addr)
			}
		}
		for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "example.com:6060"} {
			if _, err := Parse([]byte("http:\n  " + key + ": \"" + addr + "\"\n")); err == nil || !strings.Contains(err.Error(), "http."+key) {
				t.Errorf("%s %s accepted or error does not name the key: %v", key, addr, err)
			}
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Parse([]byte("http:\n  trusted_proxies: [127.0.0.1, 10.1.2.3/8, '::1', '::ffff:192.0.2.1']\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(c.HTTP.TrustedProxyPrefixes())
	if want := "[127.0.0.1/32 10.0.0.0/8 ::1/128 192.0.2.1/32]"; got != want {
		t.Fatalf("prefixes = %s, want %s", got, want)
	}
}

func TestAdminToken(t *testing.T) {
	const token = "0123456789abcdef-secret"
	sum := sha256.Sum256([]byte(token))
	for _, yaml := range []string{"admin:\n  token: " + token + "\n", "admin:\n  token_sha256: " + hex.EncodeToString(sum[:]) + "\n"} {
		c, err := Parse([]byte(yaml))
		if err != nil {
			t.Fatalf("%q: %v", yaml, err)
		}
		if h, ok := c.Admin.TokenHash(); !ok || h != sum {
			t.Errorf("%q: hash %x, %v; want %x", yaml, h, ok, sum)
		}
	}
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Admin.TokenHash(); ok {
		t.Error("no admin key set, yet a token hash")
	}
	// A rejected token is never echoed: it may be a real secret, mistyped.
	_, err = Parse([]byte("admin:\n  token: \" sixteen-chars-and-a-space\"\n"))
	if err == nil || strings.Contains(err.Error(), "sixteen") {
		t.Fatalf("error %v: want one that does not repeat the token", err)
	}
}
