// Package config loads and validates config.yaml. Unknown keys are errors that
// name the key, so a typo never silently falls back to a default.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/seedcast/seedcast/feeds"
	"github.com/seedcast/seedcast/safehttp"
)

// Config is the whole of config.yaml.
type Config struct {
	DataDir  string    `yaml:"data_dir"`
	HTTP     HTTP      `yaml:"http"`
	Seedbox  Seedbox   `yaml:"seedbox"`
	Tracker  Tracker   `yaml:"tracker"`
	Fetch    Fetch     `yaml:"fetch"`
	Schedule Schedule  `yaml:"schedule"`
	Demo     *bool     `yaml:"demo"` // serve the built-in demo podcast at /demo/feed.xml; default true
	Feeds    []Feed    `yaml:"feeds"`
	Sponsors []Sponsor `yaml:"sponsors"`
	Store    Store     `yaml:"store"`
	Node     Node      `yaml:"node"`
	Cluster  Cluster   `yaml:"cluster"`
	Admin    Admin     `yaml:"admin"`
	Push     Push      `yaml:"push"`
	// Submissions lets podcasters add their own feed (off, verify or approve; default off).
	Submissions string   `yaml:"submissions"`
	Audience    Audience `yaml:"audience"`
}

// Admin guards the operator endpoints (GET /metrics). Token and TokenSHA256 are the same secret
// two ways; at most one is set, and with neither the endpoints are off.
type Admin struct {
	Token string `yaml:"token"`
	// TokenSHA256 is the hex SHA-256 of the token, so config.yaml need not hold the token itself.
	TokenSHA256 string `yaml:"token_sha256"`
}

// minAdminToken is the shortest admin.token accepted: a bearer token must not be guessable.
const minAdminToken = 16

// TokenHash is the SHA-256 of the admin token, and false when none is configured.
// Validate has checked the keys.
func (a Admin) TokenHash() ([32]byte, bool) {
	switch {
	case a.Token != "":
		return sha256.Sum256([]byte(a.Token)), true
	case a.TokenSHA256 != "":
		var h [32]byte
		b, _ := hex.DecodeString(a.TokenSHA256)
		copy(h[:], b)
		return h, true
	}
	return [32]byte{}, false
}

// HTTP is the web server: feeds, torrents, tracker, reports.
type HTTP struct {
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
	// PprofListen serves Go's profiler (/debug/pprof/) on its own loopback-only listener, for
	// looking into a slow gateway; empty = off.
	PprofListen string `yaml:"pprof_listen"`
	// MetricsListen serves GET /metrics without the admin token on its own loopback-only
	// listener, for a Prometheus on the same host; empty = off.
	MetricsListen string `yaml:"metrics_listen"`
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes) in
	// front of the gateway whose X-Forwarded-For names the tracker's peers;
	// empty = the connection's address is the peer's.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// TrustedProxyPrefixes returns http.trusted_proxies as prefixes; Validate
// has checked them.
func (h HTTP) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range h.TrustedProxies {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix accepts a CIDR prefix or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// Seedbox configures the seeding client.
type Seedbox struct {
	PeerPort        int   `yaml:"peer_port"`
	UploadRateLimit int64 `yaml:"upload_rate_limit"` // bytes per second, 0 = unlimited
	// InitialSeeding offers each new torrent's pieces to one plaintext TCP peer at a time until
	// every piece has gone out once (issue 17; BEP 16-style); default true.
	InitialSeeding *bool `yaml:"initial_seeding"`
	DisableUTP     bool  `yaml:"disable_utp"`
	// DHT joins the BitTorrent DHT (BEP 5) on peer_port (UDP) so magnets without a tracker
	// work; default true.
	DHT *bool `yaml:"dht"`
	// DHTBootstrap are the host:port nodes the DHT starts from; unset = DefaultDHTBootstrap,
	// [] = none (the node waits for peers to contact it).
	DHTBootstrap []string `yaml:"dht_bootstrap"`
	// ICEServers are STUN/TURN URLs for the seeder's WebRTC side (browsers
	// behind NAT); none by default, so nothing off the machine is contacted.
	ICEServers []string `yaml:"ice_servers"`
	// TorrentFormat is what new torrents are: "hybrid" (v1 and v2, BEP 52) or "v1" (the default).
	// Torrents already published keep theirs.
	TorrentFormat string `yaml:"torrent_format"`
}

// DefaultDHTBootstrap are the well-known DHT routers.
func DefaultDHTBootstrap() []string {
	return []string{"router.bittorrent.com:6881", "dht.transmissionbt.com:6881", "router.utorrent.com:6881"}
}

// DHTEnabled reports whether the seeder joins the DHT.
func (s Seedbox) DHTEnabled() bool { return s.DHT == nil || *s.DHT }

// InitialSeedingEnabled reports seedbox.initial_seeding, true unless set false.
func (s Seedbox) InitialSeedingEnabled() bool { return s.InitialSeeding == nil || *s.InitialSeeding }

// Hybrid reports whether new torrents are hybrid v1+v2 (seedbox.torrent_format).
func (s Seedbox) Hybrid() bool { return s.TorrentFormat == "hybrid" }

// Tracker configures the embedded tracker.
type Tracker struct {
	UDPListen     string   `yaml:"udp_listen"`
	ExtraAnnounce []string `yaml:"extra_announce"`
	// AnnouncesPerIPPerMinute bounds announces per source address (IPv6:
	// per /64); 0 = default 120, negative = no limit. The gateway's own
	// addresses are never limited, so its seeder can announce everything.
	AnnouncesPerIPPerMinute int `yaml:"announces_per_ip_per_minute"`
	// AnnounceInterval is how often clients are told to re-announce;
	// idle peers expire after twice that. Default 15m.
	AnnounceInterval string `yaml:"announce_interval"`
	// MaxDownloadRate (bytes/s) is the fastest download the tracker believes:
	// a completion sooner than size/rate after the peer's first announce with
	// bytes left is not counted. Default 125000000 (1 Gbit/s).
	MaxDownloadRate int64 `yaml:"max_download_rate"`
	// WebSocket bounds the WebTorrent side of /announce; 0 = the default.
	WebSocket WebSocketLimits `yaml:"websocket"`
}

// WebSocketLimits bound the browsers' WebSocket tracker connections.
type WebSocketLimits struct {
	MaxConns        int   `yaml:"max_conns"`         // open connections overall; default 4096
	MaxConnsPerIP   int   `yaml:"max_conns_per_ip"`  // per address (IPv6 /64); default 16
	MaxOffers       int   `yaml:"max_offers"`        // WebRTC offers relayed per announce; default 10
	MaxMessageBytes int64 `yaml:"max_message_bytes"` // a bigger message closes the connection; default 65536
}

// Fetch limits what the gateway downloads from strangers' URLs.
type Fetch struct {
	AllowPrivateNetworks bool   `yaml:"allow_private_networks"`
	MaxFeedBytes         int64  `yaml:"max_feed_bytes"`      // default 20 MiB
	MaxEnclosureBytes    int64  `yaml:"max_enclosure_bytes"` // default 8 GiB
	MaxItems             int    `yaml:"max_items"`           // newest items kept per feed; default 10000
	MaxRedirects         int    `yaml:"max_redirects"`       // default 5
	MinFreeBytes         int64  `yaml:"min_free_bytes"`      // disk-space floor in data_dir; default 256 MiB
	FeedTimeout          string `yaml:"feed_timeout"`        // whole feed request; default 60s
	HeaderTimeout        string `yaml:"header_timeout"`      // wait for response headers; default 30s
	EnclosureTimeout     string `yaml:"enclosure_timeout"`   // whole enclosure download; default 6h
	// EnclosureIdleTimeout fails a download whose origin sends no bytes for that long; default 2m.
	EnclosureIdleTimeout string `yaml:"enclosure_idle_timeout"`
	UserAgent            string `yaml:"user_agent"`
}

// Schedule holds robfig/cron specs.
type Schedule struct {
	Poll   string `yaml:"poll"`
	Scrape string `yaml:"scrape"`
	Verify string `yaml:"verify"` // re-hash every seeded file from disk; default @weekly
}

// Feed is one subscribed podcast.
type Feed struct {
	Slug         string `yaml:"slug"`
	URL          string `yaml:"url"`
	Schedule     string `yaml:"schedule"`      // overrides schedule.poll for this feed
	OwnerConsent bool   `yaml:"owner_consent"` // republish even if the feed says podcast:locked yes
	KeepEpisodes int    `yaml:"keep_episodes"` // seed only the newest N episodes (0 = all)
	MaxBytes     int64  `yaml:"max_bytes"`     // seed at most this many bytes of media (0 = no cap)
}

// Sponsor may read the reports of the feeds it is given.
type Sponsor struct {
	Name        string   `yaml:"name"`
	Token       string   `yaml:"token"`
	TokenSHA256 string   `yaml:"token_sha256"`
	Feeds       []string `yaml:"feeds"`
}

// DemoEnabled reports whether the built-in demo podcast is served.
func (c *Config) DemoEnabled() bool { return c.Demo == nil || *c.Demo }

var (
	slugRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	hexSHA256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	unknownKey  = regexp.MustCompile(`line (\d+): field (\S+) not found in type config\.(\w+)`)
)

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := parse(b, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes YAML, applies defaults and validates; unlike Load it reads no environment.
func Parse(b []byte) (*Config, error) { return parse(b, nil) }

func parse(b []byte, getenv func(string) string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// An empty file is fine: every key has a default.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, cleanYAMLError(err)
	}
	c.applyDefaults()
	c.applyStoreDefaults(getenv)
	c.applyPushEnv(getenv)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// cleanYAMLError turns yaml's "field foo not found in type config.HTTP" into a
// message that names the key as the user wrote it.
func cleanYAMLError(err error) error {
	msg := err.Error()
	if m := unknownKey.FindAllStringSubmatch(msg, -1); len(m) > 0 {
		var parts []string
		for _, x := range m {
			parts = append(parts, fmt.Sprintf("line %s: unknown key %q in %s", x[1], x[2], sectionName(x[3])))
		}
		return errors.New(strings.Join(parts, "; "))
	}
	return err
}

func sectionName(typ string) string {
	switch typ {
	case "Config":
		return "the top level"
	case "Feed":
		return "a feeds entry"
	case "Sponsor":
		return "a sponsors entry"
	default:
		return strings.ToLower(typ)
	}
}

func (c *Config) applyDefaults() {
	if c.Submissions == "" {
		c.Submissions = SubmissionsOff
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:8080"
	}
	if c.HTTP.PublicURL == "" {
		c.HTTP.PublicURL = "http://" + c.HTTP.Listen
	}
	c.HTTP.PublicURL = strings.TrimRight(c.HTTP.PublicURL, "/")
	if c.Seedbox.PeerPort == 0 {
		c.Seedbox.PeerPort = 6881
	}
	if c.Seedbox.DHTBootstrap == nil {
		c.Seedbox.DHTBootstrap = DefaultDHTBootstrap()
	}
	if c.Seedbox.TorrentFormat == "" {
		// v1: Debian 12's aria2 (1.36) and Transmission (3.00) cannot read hybrids.
		c.Seedbox.TorrentFormat = "v1"
	}
	if c.Tracker.AnnounceInterval == "" {
		c.Tracker.AnnounceInterval = "15m"
	}
	if c.Tracker.UDPListen == "" {
		c.Tracker.UDPListen = "127.0.0.1:6969"
	}
	if c.Tracker.MaxDownloadRate == 0 {
		c.Tracker.MaxDownloadRate = 125_000_000
	}
	if c.Fetch.MaxFeedBytes == 0 {
		c.Fetch.MaxFeedBytes = 20 << 20
	}
	if c.Fetch.MaxEnclosureBytes == 0 {
		c.Fetch.MaxEnclosureBytes = 8 << 30
	}
	if c.Fetch.MaxItems == 0 {
		c.Fetch.MaxItems = feeds.DefaultMaxItems
	}
	if c.Fetch.MinFreeBytes == 0 {
		c.Fetch.MinFreeBytes = 256 << 20
	}
	if c.Fetch.MaxRedirects == 0 {
		c.Fetch.MaxRedirects = 5
	}
	if c.Fetch.FeedTimeout == "" {
		c.Fetch.FeedTimeout = "60s"
	}
	if c.Fetch.HeaderTimeout == "" {
		c.Fetch.HeaderTimeout = "30s"
	}
	if c.Fetch.EnclosureTimeout == "" {
		c.Fetch.EnclosureTimeout = "6h"
	}
	if c.Fetch.EnclosureIdleTimeout == "" {
		c.Fetch.EnclosureIdleTimeout = "2m"
	}
	if c.Fetch.UserAgent == "" {
		c.Fetch.UserAgent = "Seedcast/1 (+podcast-to-BitTorrent gateway)"
	}
	if c.Schedule.Poll == "" {
		c.Schedule.Poll = "@every 15m"
	}
	if c.Schedule.Scrape == "" {
		c.Schedule.Scrape = "@every 10m"
	}
	if c.Schedule.Verify == "" {
		c.Schedule.Verify = "@weekly"
	}
}

// CronParser is the spec syntax every schedule uses: standard five fields
// plus descriptors such as @every 15m and @hourly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a cron spec the way the scheduler will.
func ParseSchedule(spec string) (cron.Schedule, error) { return cronParser.Parse(spec) }

// checkLoopback accepts "" (off) or a loopback host:port.
func checkLoopback(key, hp string, example int) error {
	if hp == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(hp)
	ip, perr := netip.ParseAddr(host)
	if err != nil || (host != "localhost" && (perr != nil || !ip.IsLoopback())) {
		return fmt.Errorf("%s: %q must be a loopback host:port (127.0.0.1:%d, [::1]:%d, localhost:%d)", key, hp, example, example, example)
	}
	return nil
}

// Validate checks every key and says which one is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if c.DataDir == "" || strings.ContainsRune(c.DataDir, 0) {
		bad("data_dir", "%q is not a directory path", c.DataDir)
	}
	check(checkHostPort("http.listen", c.HTTP.Listen))
	// The profiler shows memory and command line and can be made to burn CPU: never public.
	check(checkLoopback("http.pprof_listen", c.HTTP.PprofListen, 6060))
	// Unauthenticated metrics: loopback only, the main listener has the token-guarded /metrics.
	check(checkLoopback("http.metrics_listen", c.HTTP.MetricsListen, 9464))
	switch a := c.Admin; {
	case a.Token != "" && a.TokenSHA256 != "":
		bad("admin", "set admin.token or admin.token_sha256, not both")
	case a.Token != "" && (len(a.Token) < minAdminToken || strings.TrimSpace(a.Token) != a.Token):
		// The token itself is never repeated in an error: it may be a real one, mistyped.
		bad("admin.token", "must be at least %d characters without surrounding spaces", minAdminToken)
	case a.TokenSHA256 != "":
		if b, err := hex.DecodeString(a.TokenSHA256); err != nil || len(b) != sha256.Size {
			bad("admin.token_sha256", "must be 64 hex digits (sha256sum of the token)")
		}
	}
	for i, s := range c.HTTP.TrustedProxies {
		if _, err := parsePrefix(s); err != nil {
			bad(fmt.Sprintf("http.trusted_proxies[%d]", i), "%v", err)
		}
	}
	// The base of every published URL: a password, query or fragment in it would be copied everywhere.
	if u, err := url.Parse(c.HTTP.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		bad("http.public_url", "%q is not an absolute http(s) URL without user, query or fragment", safehttp.RedactURL(c.HTTP.PublicURL))
	}
	check(checkInt("seedbox.peer_port", int64(c.Seedbox.PeerPort), 1, 65535))
	for i, s := range c.Seedbox.ICEServers {
		if u, err := url.Parse(s); err != nil || !slices.Contains([]string{"stun", "stuns", "turn", "turns"}, u.Scheme) || u.Opaque == "" {
			bad(fmt.Sprintf("seedbox.ice_servers[%d]", i), "%q is not a stun:, stuns:, turn: or turns: URL", s)
		}
	}
	if r := c.Seedbox.UploadRateLimit; r != 0 {
		check(checkInt("seedbox.upload_rate_limit", r, minUploadRate, maxUploadRate))
	}
	for i, hp := range c.Seedbox.DHTBootstrap {
		check(checkNodeAddr(fmt.Sprintf("seedbox.dht_bootstrap[%d]", i), hp))
	}
	if f := c.Seedbox.TorrentFormat; f != "hybrid" && f != "v1" {
		bad("seedbox.torrent_format", "%q: want hybrid or v1", f)
	}
	if c.Tracker.UDPListen != "off" {
		check(checkHostPort("tracker.udp_listen", c.Tracker.UDPListen))
	}
	if c.Tracker.MaxDownloadRate <= 0 {
		bad("tracker.max_download_rate", "%d: must be a positive number of bytes per second", c.Tracker.MaxDownloadRate)
	}
	for i, a := range c.Tracker.ExtraAnnounce {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "udp") || u.Host == "" {
			bad(fmt.Sprintf("tracker.extra_announce[%d]", i), "%q is not an http, https or udp tracker URL", safehttp.RedactURL(a))
		}
	}
	if n := c.Tracker.AnnouncesPerIPPerMinute; n > 0 { // negative: no limit
		check(checkInt("tracker.announces_per_ip_per_minute", int64(n), 1, maxAnnouncesPerIP))
	}
	// 0 means the default; a limit beyond these would let one host hold the box's memory.
	for _, l := range []struct {
		key    string
		n, max int64
	}{
		{"tracker.websocket.max_conns", int64(c.Tracker.WebSocket.MaxConns), 1 << 20},
		{"tracker.websocket.max_conns_per_ip", int64(c.Tracker.WebSocket.MaxConnsPerIP), 1 << 16},
		{"tracker.websocket.max_offers", int64(c.Tracker.WebSocket.MaxOffers), 100},
		{"tracker.websocket.max_message_bytes", c.Tracker.WebSocket.MaxMessageBytes, 16 << 20},
	} {
		if l.n != 0 {
			check(checkInt(l.key, l.n, 1, l.max))
		}
	}
	check(checkInt("fetch.max_feed_bytes", c.Fetch.MaxFeedBytes, 1, maxFeedBytes))
	check(checkInt("fetch.max_enclosure_bytes", c.Fetch.MaxEnclosureBytes, 1, maxEnclosureBytes))
	check(checkInt("fetch.max_items", int64(c.Fetch.MaxItems), 1, maxItems))
	check(checkInt("fetch.min_free_bytes", c.Fetch.MinFreeBytes, 0, maxStoreBytes))
	check(checkInt("fetch.max_redirects", int64(c.Fetch.MaxRedirects), 0, maxRedirects))
	check(checkUserAgent(c.Fetch.UserAgent))
	check(checkDuration("tracker.announce_interval", c.Tracker.AnnounceInterval))
	check(checkDuration("fetch.feed_timeout", c.Fetch.FeedTimeout))
	check(checkDuration("fetch.header_timeout", c.Fetch.HeaderTimeout))
	check(checkDuration("fetch.enclosure_timeout", c.Fetch.EnclosureTimeout))
	check(checkDuration("fetch.enclosure_idle_timeout", c.Fetch.EnclosureIdleTimeout))
	check(checkSchedule("schedule.poll", c.Schedule.Poll, minScheduleGap["schedule.poll"]))
	check(checkSchedule("schedule.scrape", c.Schedule.Scrape, minScheduleGap["schedule.scrape"]))
	check(checkSchedule("schedule.verify", c.Schedule.Verify, minScheduleGap["schedule.verify"]))
	slugs := map[string]bool{}
	for i, f := range c.Feeds {
		key := fmt.Sprintf("feeds[%d]", i)
		if !slugRE.MatchString(f.Slug) {
			bad(key+".slug", "%q must be 1-63 characters of a-z, 0-9 and -", f.Slug)
		} else if slugs[f.Slug] {
			bad(key+".slug", "%q is used twice", f.Slug)
		}
		slugs[f.Slug] = true
		if u, err := url.Parse(f.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(key+".url", "%q is not an absolute http(s) URL", safehttp.RedactURL(f.URL))
		}
		check(checkInt(key+".keep_episodes", int64(f.KeepEpisodes), 0, maxKeepEpisodes))
		check(checkInt(key+".max_bytes", f.MaxBytes, 0, maxStoreBytes))
		if f.Schedule != "" {
			check(checkSchedule(key+".schedule", f.Schedule, minScheduleGap["schedule.poll"]))
		}
	}
	for i, s := range c.Sponsors {
		key := fmt.Sprintf("sponsors[%d]", i)
		if s.Name == "" {
			bad(key+".name", "is required")
		}
		switch {
		case s.Token != "" && s.TokenSHA256 != "":
			bad(key+".token", "set token or token_sha256, not both")
		case s.Token == "" && s.TokenSHA256 == "":
			bad(key+".token", "token or token_sha256 is required")
		case s.Token != "" && len(s.Token) < 16:
			bad(key+".token", "must be at least 16 characters")
		case s.TokenSHA256 != "" && !hexSHA256RE.MatchString(s.TokenSHA256):
			bad(key+".token_sha256", "must be 64 lowercase hex characters")
		}
		for j, slug := range s.Feeds {
			if !slugs[slug] {
				bad(fmt.Sprintf("%s.feeds[%d]", key, j), "%q is not a configured feed slug", slug)
			}
		}
	}
	errs = append(errs, c.validateStore()...)
	errs = append(errs, c.validatePush()...)
	errs = append(errs, c.validateSubmissions()...)
	errs = append(errs, c.validateAudience()...)
	return errors.Join(errs...)
}

// AnnounceInterval is tracker.announce_interval as a duration (validated).
func (c *Config) AnnounceInterval() time.Duration {
	d, _ := positiveDuration(c.Tracker.AnnounceInterval)
	return d
}

// Timeouts are the fetch timeouts as durations (validated by Validate).
func (c *Config) Timeouts() (feed, header, enclosure time.Duration) {
	feed, _ = positiveDuration(c.Fetch.FeedTimeout)
	header, _ = positiveDuration(c.Fetch.HeaderTimeout)
	enclosure, _ = positiveDuration(c.Fetch.EnclosureTimeout)
	return feed, header, enclosure
}

// EnclosureIdleTimeout is fetch.enclosure_idle_timeout as a duration (validated by Validate).
func (c *Config) EnclosureIdleTimeout() time.Duration {
	d, _ := positiveDuration(c.Fetch.EnclosureIdleTimeout)
	return d
}

func positiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err == nil && d <= 0 {
		err = errors.New("must be positive")
	}
	return d, err
}
