package tracker

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	anatracker "github.com/anacrolix/torrent/tracker"
	"github.com/anacrolix/torrent/types/infohash"
)

// getBencode does a raw GET and decodes the bencoded body.
func getBencode(t *testing.T, rawURL string) map[string]any {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", rawURL, resp.StatusCode)
	}
	var m map[string]any
	if err := bencode.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET %s: decode %q: %v", rawURL, body, err)
	}
	return m
}

func announceValues(ih [20]byte, id string, port int, left int) url.Values {
	pid := peerID(id)
	return url.Values{
		"info_hash": {string(ih[:])},
		"peer_id":   {string(pid[:])},
		"port":      {fmt.Sprint(port)},
		"left":      {fmt.Sprint(left)},
	}
}

func TestHTTPAnnounceReturnsOtherPeers(t *testing.T) {
	_, base := newTestTracker(t, Config{}, nil, nil)
	first := announceHTTP(t, base, hashA, "a", 7001, 10, anatracker.Started)
	if len(first.Peers) != 0 || first.Interval != 900 {
		t.Fatalf("first announce = %+v, want no peers and interval 900", first)
	}
	resp := announceHTTP(t, base, hashA, "b", 7002, 0, anatracker.Started)
	if len(resp.Peers) != 1 || resp.Peers[0].IP.String() != "127.0.0.1" || resp.Peers[0].Port != 7001 {
		t.Fatalf("peers = %v, want [127.0.0.1:7001]", resp.Peers)
	}
	if resp.Seeders != 1 || resp.Leechers != 1 {
		t.Fatalf("seeders %d leechers %d, want 1 and 1", resp.Seeders, resp.Leechers)
	}
	// The requester never sees itself.
	again := announceHTTP(t, base, hashA, "a", 7001, 10, anatracker.None)
	if len(again.Peers) != 1 || again.Peers[0].Port != 7002 {
		t.Fatalf("peers = %v, want only 7002", again.Peers)
	}
}

func TestHTTPNumWantCapped(t *testing.T) {
	_, base := newTestTracker(t, Config{MaxNumWant: 3}, nil, nil)
	for i := range 6 {
		announceHTTP(t, base, hashA, fmt.Sprint("p", i), uint16(7000+i), 10, anatracker.Started)
	}
	v := announceValues(hashA, "asker", 8000, 10)
	v.Set("numwant", "100")
	m := getBencode(t, base+"/announce?"+v.Encode())
	if peers, _ := m["peers"].(string); len(peers) != 3*6 {
		t.Fatalf("got %d bytes of compact peers, want 3 peers", len(peers))
	}
	v.Set("numwant", "2")
	m = getBencode(t, base+"/announce?"+v.Encode())
	if peers, _ := m["peers"].(string); len(peers) != 2*6 {
		t.Fatalf("got %d bytes of compact peers, want 2 peers", len(peers))
	}
}

func TestHTTPNonCompact(t *testing.T) {
	_, base := newTestTracker(t, Config{}, nil, nil)
	announceHTTP(t, base, hashA, "a", 7001, 10, anatracker.Started)
	v := announceValues(hashA, "b", 7002, 10)
	v.Set("compact", "0")
	m := getBencode(t, base+"/announce?"+v.Encode())
	list, ok := m["peers"].([]any)
	if !ok || len(list) != 1 {
		t.Fatalf("peers = %#v, want a list of one dict", m["peers"])
	}
	// Peer ids are never sent, asked for or not: they would let anyone act as that peer.
	p := list[0].(map[string]any)
	if _, ok := p["peer id"]; ok || p["ip"] != "127.0.0.1" || p["port"] != int64(7001) {
		t.Fatalf("peer = %#v, want ip and port only", p)
	}
	v.Set("no_peer_id", "1")
	m = getBencode(t, base+"/announce?"+v.Encode())
	p = m["peers"].([]any)[0].(map[string]any)
	if _, ok := p["peer id"]; ok {
		t.Fatalf("no_peer_id=1 but peer id sent: %#v", p)
	}
}

func TestHTTPIPv6PeersInPeers6(t *testing.T) {
	tr := New(Config{}, nil, testLogger(t), nil)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	h := tr.AnnounceHandler()
	do := func(remote string, v url.Values) map[string]any {
		r := httptest.NewRequest(http.MethodGet, "/announce?"+v.Encode(), nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var m map[string]any
		if err := bencode.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	do("[2001:db8::1]:50000", announceValues(hashA, "six", 7006, 10))
	do("192.0.2.4:50000", announceValues(hashA, "four", 7004, 10))
	m := do("[::ffff:192.0.2.9]:1", announceValues(hashA, "asker", 7009, 10))
	wantV6 := "\x20\x01\x0d\xb8" + strings.Repeat("\x00", 11) + "\x01" + "\x1b\x5e"
	if m["peers6"] != wantV6 {
		t.Fatalf("peers6 = %q, want %q", m["peers6"], wantV6)
	}
	if m["peers"] != "\xc0\x00\x02\x04\x1b\x5c" {
		t.Fatalf("peers = %q, want 192.0.2.4:7004", m["peers"])
	}
	// The v4-mapped requester was stored as plain IPv4.
	m = do("[2001:db8::1]:50000", announceValues(hashA, "six", 7006, 10))
	if peers := m["peers"].(string); !strings.Contains(peers, "\xc0\x00\x02\x09\x1b\x61") {
		t.Fatalf("peers = %q, want 192.0.2.9:7009 among them", peers)
	}
}

func TestHTTPFailures(t *testing.T) {
	_, base := newTestTracker(t, Config{}, nil, nil)
	good := announceValues(hashA, "a", 7001, 10)
	with := func(key, val string) string {
		v := url.Values{}
		for k, vs := range good {
			v[k] = vs
		}
		if val == "" {
			v.Del(key)
		} else {
			v.Set(key, val)
		}
		return v.Encode()
	}
	cases := map[string]string{
		"unknown hash":     with("info_hash", string(hashU[:])),
		"short hash":       with("info_hash", "abc"),
		"no hash":          with("info_hash", ""),
		"no peer id":       with("peer_id", ""),
		"long peer id":     with("peer_id", strings.Repeat("x", 21)),
		"bad port":         with("port", "70000"),
		"no port":          with("port", ""),
		"no left":          with("left", ""),
		"bad left":         with("left", "lots"),
		"bad event":        with("event", "exploded"),
		"bad numwant":      with("numwant", "many"),
		"bad escape":       good.Encode() + "&x=%zz",
		"semicolon":        good.Encode() + ";x=1",
		"empty":            "",
		"duplicated hash":  good.Encode() + "&info_hash=" + url.QueryEscape(string(hashB[:])),
		"binary garbage":   "%00%ff=%01&\xfe\xff",
		"only ampersands":  "&&&&",
		"huge numbers":     with("left", "99999999999999999999999999"),
		"negative port":    with("port", "-1"),
		"event uppercase":  with("event", "STARTED"),
		"numwant overflow": with("numwant", "4294967296"),
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			m := getBencode(t, base+"/announce?"+q)
			reason, _ := m["failure reason"].(string)
			if reason == "" {
				t.Fatalf("no failure reason in %#v", m)
			}
		})
	}
	m := getBencode(t, base+"/announce?"+with("info_hash", string(hashU[:])))
	if m["failure reason"] != "unknown info hash" {
		t.Fatalf("failure reason = %q", m["failure reason"])
	}
}

func TestHTTPNegativeLeftIsLeecher(t *testing.T) {
	tr, base := newTestTracker(t, Config{}, nil, nil)
	m := getBencode(t, base+"/announce?"+announceValues(hashA, "magnet", 7001, -1).Encode())
	if _, failed := m["failure reason"]; failed {
		t.Fatalf("failure: %v", m)
	}
	wantStats(t, tr, hashA, Stats{Incomplete: 1})
}

func TestHTTPMethodNotAllowed(t *testing.T) {
	_, base := newTestTracker(t, Config{}, nil, nil)
	for _, path := range []string{"/announce", "/scrape"} {
		resp, err := http.Post(base+path, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("POST %s: status %d", path, resp.StatusCode)
		}
	}
}

func TestHTTPScrape(t *testing.T) {
	_, base := newTestTracker(t, Config{}, openStore(t), nil)
	announceHTTP(t, base, hashA, "l", 7001, 10, anatracker.Started)
	announceHTTP(t, base, hashA, "s", 7002, 0, anatracker.Started)
	announceHTTP(t, base, hashA, "d", 7003, 10, anatracker.Started)
	announceHTTP(t, base, hashA, "d", 7003, 0, anatracker.Stopped)
	announceHTTP(t, base, hashB, "l", 7001, 10, anatracker.Started)

	cl, err := anatracker.NewClient(base+"/announce", anatracker.NewClientOpts{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	res, err := cl.Scrape(t.Context(), []infohash.T{hashA, hashB, hashU})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("got %d results", len(res))
	}
	if r := res[0]; r.Seeders != 1 || r.Leechers != 1 || r.Completed != 1 {
		t.Fatalf("hashA = %+v, want 1 seeder, 1 leecher, 1 completed", r)
	}
	if r := res[1]; r.Seeders != 0 || r.Leechers != 1 || r.Completed != 0 {
		t.Fatalf("hashB = %+v", r)
	}

	// Unknown hashes are left out; no info_hash means every tracked torrent.
	m := getBencode(t, base+"/scrape?info_hash="+url.QueryEscape(string(hashU[:])))
	if files := m["files"].(map[string]any); len(files) != 0 {
		t.Fatalf("unknown hash scraped: %#v", files)
	}
	m = getBencode(t, base+"/scrape")
	files := m["files"].(map[string]any)
	if len(files) != 2 {
		t.Fatalf("scrape all: %d files, want 2", len(files))
	}
	a := files[string(hashA[:])].(map[string]any)
	if a["complete"] != int64(1) || a["incomplete"] != int64(1) || a["downloaded"] != int64(1) {
		t.Fatalf("scrape all hashA = %#v", a)
	}

	m = getBencode(t, base+"/scrape?info_hash=short")
	if m["failure reason"] == nil {
		t.Fatalf("short info_hash: %#v", m)
	}
}

// Behind a trusted reverse proxy the peer is the nearest X-Forwarded-For
// address outside the trusted proxies; from anyone else the header is ignored.
func TestHTTPTrustedProxies(t *testing.T) {
	tr := New(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")},
		AnnouncesPerIPPerMinute: -1}, nil, testLogger(t), nil)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	h := tr.AnnounceHandler()
	n := 0
	// announce sends one announce and returns the address the tracker
	// stored for it, as another peer is told (non-compact).
	announce := func(remote string, xff ...string) string {
		t.Helper()
		n++
		r := httptest.NewRequest(http.MethodGet, "/announce?"+announceValues(hashA, fmt.Sprint("peer", n), 7000+n, 10).Encode(), nil)
		r.RemoteAddr = remote
		for _, x := range xff {
			r.Header.Add("X-Forwarded-For", x)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var m map[string]any
		if err := bencode.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if f, ok := m["failure reason"]; ok {
			return "failure: " + f.(string)
		}
		v := announceValues(hashA, "asker", 9999, 10)
		v.Set("compact", "0")
		r = httptest.NewRequest(http.MethodGet, "/announce?"+v.Encode(), nil)
		r.RemoteAddr = "192.0.2.250:1"
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if err := bencode.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		for _, p := range m["peers"].([]any) {
			if p := p.(map[string]any); p["port"] == int64(7000+n) {
				return p["ip"].(string)
			}
		}
		return "not stored"
	}
	for _, c := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"untrusted connection: header ignored", "192.0.2.7:5000", []string{"203.0.113.9"}, "192.0.2.7"},
		{"trusted proxy", "127.0.0.1:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"client-written entries left of the proxy's are ignored", "127.0.0.1:5000", []string{"6.6.6.6, 203.0.113.9"}, "203.0.113.9"},
		{"two trusted hops, headers split", "127.0.0.1:5000", []string{"6.6.6.6, 203.0.113.10", "10.1.2.3"}, "203.0.113.10"},
		{"entry with a port", "127.0.0.1:5000", []string{"203.0.113.11:4444"}, "203.0.113.11"},
		{"IPv6 client", "127.0.0.1:5000", []string{"2001:db8::5"}, "2001:db8::5"},
		{"trusted proxy without the header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"garbage from the proxy side", "127.0.0.1:5000", []string{"203.0.113.12, not-an-ip"}, "failure: cannot determine your address"},
	} {
		if got := announce(c.remote, c.xff...); got != c.want {
			t.Errorf("%s: stored %q, want %q", c.name, got, c.want)
		}
	}
}
