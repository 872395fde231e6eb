package tracker

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	anatracker "github.com/anacrolix/torrent/tracker"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
)

func TestScrapeURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://t.example/announce":             "http://t.example/scrape",
		"http://t.example/x/announce":           "http://t.example/x/scrape",
		"http://t.example/x/announce.php":       "http://t.example/x/scrape.php",
		"https://t.example/announce?passkey=ab": "https://t.example/scrape?passkey=ab",
		"http://t.example/a":                    "",
		"http://t.example/announce/x":           "",
		"http://t.example/x%2Fannounce":         "",
		"http://t.example/a%2Fb/announce":       "http://t.example/a%2Fb/scrape",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ScrapeURL(u)
		if want == "" {
			if err == nil {
				t.Errorf("ScrapeURL(%s) = %s, want ErrNoScrape", in, got)
			}
			continue
		}
		if err != nil || got.String() != want {
			t.Errorf("ScrapeURL(%s) = %v, %v; want %s", in, got, err, want)
		}
	}
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// hangingHTTP accepts requests and never answers them.
func hangingHTTP(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(srv.Close)
	return srv.URL + "/announce"
}

// silentUDP is a bound socket that reads nothing: a tracker that is down
// without the kernel saying so.
func silentUDP(t *testing.T) string {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return "udp://" + pc.LocalAddr().String() + "/announce"
}

func snapshotsBy(t *testing.T, st store.Store, ih [20]byte) map[string][]store.Snapshot {
	t.Helper()
	snaps, err := st.Snapshots(t.Context(), hex.EncodeToString(ih[:]))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]store.Snapshot{}
	for _, s := range snaps {
		out[s.Tracker] = append(out[s.Tracker], s)
	}
	return out
}

func TestScraperHTTPAndUDPWithDeadTrackers(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	tr, base := newTestTracker(t, Config{}, openStore(t), clk.now)
	udpAddr := serveUDP(t, tr, "udp4", "127.0.0.1:0")
	announceHTTP(t, base, hashA, "leech-then-done", 7001, 100, anatracker.Started)
	announceHTTP(t, base, hashA, "leech-then-done", 7001, 0, anatracker.Completed)
	announceHTTP(t, base, hashB, "leecher", 7002, 100, anatracker.Started)

	st := openStore(t)
	httpURL, udpURL := base+"/announce", "udp://"+udpAddr.String()+"/announce"
	deadHTTP, deadUDP := hangingHTTP(t), silentUDP(t)
	s := NewScraper(ScrapeConfig{
		Trackers: []string{deadHTTP, httpURL, deadUDP, udpURL},
		Timeout:  time.Second,
		Backoff:  5 * time.Minute,
	}, st, nil, testLogger(t), clk.now)
	hashes := []string{hex.EncodeToString(hashA[:]), hex.EncodeToString(hashB[:])}

	err := s.Scrape(t.Context(), hashes)
	if err == nil || !strings.Contains(err.Error(), deadHTTP) || !strings.Contains(err.Error(), deadUDP) {
		t.Fatalf("Scrape error = %v, want both dead trackers named", err)
	}
	for _, u := range []string{deadHTTP, httpURL, deadUDP, udpURL} {
		if strings.Contains(err.Error(), "scrape "+u+":") != (u == deadHTTP || u == deadUDP) {
			t.Errorf("error %q: wrong set of trackers blamed (%s)", err, u)
		}
	}
	a, b := snapshotsBy(t, st, hashA), snapshotsBy(t, st, hashB)
	for _, u := range []string{httpURL, udpURL} {
		if got := a[u]; len(got) != 1 || got[0].Complete != 1 || got[0].Incomplete != 0 || got[0].Downloaded != 1 || !got[0].At.Equal(clk.now()) {
			t.Errorf("hashA on %s: %+v, want one snapshot 1/0/1 at %s", u, got, clk.now())
		}
		if got := b[u]; len(got) != 1 || got[0].Complete != 0 || got[0].Incomplete != 1 || got[0].Downloaded != 0 {
			t.Errorf("hashB on %s: %+v, want one snapshot 0/1/0", u, got)
		}
	}
	if len(a[deadHTTP])+len(a[deadUDP]) != 0 {
		t.Errorf("dead trackers have snapshots: %+v", a)
	}

	// Within the backoff the dead trackers are not asked: no error, and the
	// live ones are scraped again.
	clk.advance(time.Minute)
	if err := s.Scrape(t.Context(), hashes); err != nil {
		t.Fatalf("Scrape during backoff: %v", err)
	}
	if got := len(snapshotsBy(t, st, hashA)[udpURL]); got != 2 {
		t.Errorf("udp snapshots after second scrape = %d, want 2", got)
	}
	// After 5m they are tried (and fail) again; the next wait is 10m.
	clk.advance(4*time.Minute + time.Second)
	if err := s.Scrape(t.Context(), hashes); err == nil {
		t.Fatal("dead trackers were not retried after their backoff")
	}
	clk.advance(5*time.Minute + time.Second)
	if err := s.Scrape(t.Context(), hashes); err != nil {
		t.Fatalf("backoff did not double: %v", err)
	}
	clk.advance(5 * time.Minute)
	if err := s.Scrape(t.Context(), hashes); err == nil {
		t.Fatal("dead trackers were not retried after the doubled backoff")
	}
	if got := s.Errors(); got != 6 { // two dead trackers, each tried three times
		t.Errorf("Errors() = %d, want 6", got)
	}
}

// countingConn records the number of info hashes in each UDP scrape request.
type countingConn struct {
	net.PacketConn
	mu      sync.Mutex
	batches []int
}

func (c *countingConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if err == nil && n >= 16 && binary.BigEndian.Uint32(p[8:12]) == 2 {
		c.mu.Lock()
		c.batches = append(c.batches, (n-16)/20)
		c.mu.Unlock()
	}
	return n, addr, err
}

func TestScraperUDPBatchesOf74(t *testing.T) {
	tr := New(Config{}, nil, testLogger(t), nil)
	var hashes []string
	for i := range 150 {
		ih := [20]byte{0x5c, byte(i)}
		if err := tr.Allow(t.Context(), ih, 0); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, hex.EncodeToString(ih[:]))
	}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{PacketConn: pc}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { tr.ServeUDP(ctx, cc); close(done) }()
	t.Cleanup(func() { cancel(); <-done; pc.Close() })

	st := openStore(t)
	s := NewScraper(ScrapeConfig{Trackers: []string{"udp://" + pc.LocalAddr().String() + "/announce"}}, st, nil, testLogger(t), nil)
	if err := s.Scrape(t.Context(), hashes); err != nil {
		t.Fatal(err)
	}
	cc.mu.Lock()
	batches := append([]int(nil), cc.batches...)
	cc.mu.Unlock()
	total := 0
	for _, n := range batches {
		if n > 74 {
			t.Errorf("a UDP scrape carried %d hashes, BEP 15 allows 74", n)
		}
		total += n
	}
	if total < 150 || len(batches) < 3 {
		t.Errorf("scrape batches %v, want 150 hashes in at least 3 requests", batches)
	}
	for _, h := range []string{hashes[0], hashes[149]} {
		snaps, err := st.Snapshots(t.Context(), h)
		if err != nil || len(snaps) != 1 {
			t.Errorf("snapshots of %s = %v, %v; want 1", h, snaps, err)
		}
	}
}

func TestScraperHostileHTTPReplies(t *testing.T) {
	for name, body := range map[string]string{
		"garbage":    "<html>not bencode</html>",
		"failure":    "d14:failure reason6:nope!e",
		"wrong type": "d5:filesi3ee",
		"huge":       "d5:files" + strings.Repeat("x", maxScrapeBody+10),
		"status":     "",
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if body == "" {
					http.Error(w, "down", http.StatusBadGateway)
					return
				}
				fmt.Fprint(w, body)
			}))
			defer srv.Close()
			st := openStore(t)
			s := NewScraper(ScrapeConfig{Trackers: []string{srv.URL + "/announce"}}, st, nil, testLogger(t), nil)
			if err := s.Scrape(t.Context(), []string{hex.EncodeToString(hashA[:])}); err == nil {
				t.Fatal("hostile reply accepted")
			}
		})
	}
}

func TestScraperMissingEntryIsZero(t *testing.T) {
	// opentracker omits torrents nobody has announced yet.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/x/scrape.php" || len(r.URL.Query()["info_hash"]) != 2 || r.URL.Query().Get("key") != "k" {
			http.Error(w, "bad scrape URL "+r.URL.String(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "d5:filesd20:%sd8:completei2e10:downloadedi5e10:incompletei1e4:name1:xeee", hashA[:])
	}))
	defer srv.Close()
	st := openStore(t)
	u := srv.URL + "/x/announce.php?key=k"
	s := NewScraper(ScrapeConfig{Trackers: []string{u}}, st, nil, testLogger(t), nil)
	if err := s.Scrape(t.Context(), []string{hex.EncodeToString(hashA[:]), hex.EncodeToString(hashB[:])}); err != nil {
		t.Fatal(err)
	}
	if a := snapshotsBy(t, st, hashA)[u]; len(a) != 1 || a[0].Complete != 2 || a[0].Incomplete != 1 || a[0].Downloaded != 5 {
		t.Errorf("hashA: %+v", a)
	}
	if b := snapshotsBy(t, st, hashB)[u]; len(b) != 1 || b[0].Complete+b[0].Incomplete+b[0].Downloaded != 0 {
		t.Errorf("hashB: %+v, want one zero snapshot", b)
	}
	if err := s.Scrape(t.Context(), []string{"not-hex"}); err == nil {
		t.Error("bad info hash accepted")
	}
}
