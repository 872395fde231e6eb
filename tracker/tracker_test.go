package tracker

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	anatracker "github.com/anacrolix/torrent/tracker"
)

// clock is an injectable time source for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var (
	hashA = [20]byte{0xaa, 1, 2, 3}
	hashB = [20]byte{0xbb, 1, 2, 3}
	hashU = [20]byte{0xee, 0xee} // never allowed
)

func peerID(s string) [20]byte {
	var id [20]byte
	copy(id[:], "-TT0001-"+s)
	return id
}

// newTestTracker returns a tracker allowing hashA and hashB, served over HTTP at the
// returned base URL (announce at base+"/announce").
func newTestTracker(t *testing.T, cfg Config, st Store, now func() time.Time) (*Tracker, string) {
	t.Helper()
	tr := New(cfg, st, testLogger(t), now)
	for _, ih := range [][20]byte{hashA, hashB} {
		if err := tr.Allow(t.Context(), ih, 0); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/announce", tr.AnnounceHandler())
	mux.Handle("/scrape", tr.ScrapeHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return tr, srv.URL
}

// announceHTTP announces through the anacrolix client, the way real peers do.
func announceHTTP(t *testing.T, base string, ih [20]byte, id string, port uint16, left int64, ev anatracker.AnnounceEvent) anatracker.AnnounceResponse {
	t.Helper()
	resp, err := tryAnnounceHTTP(t.Context(), base, ih, id, port, left, ev)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// clientAnnounce is what a real client sends: the anacrolix tracker client's
// request for peer id on port with left bytes to go.
func clientAnnounce(ih [20]byte, id string, port uint16, left int64, ev anatracker.AnnounceEvent) anatracker.AnnounceRequest {
	return anatracker.AnnounceRequest{InfoHash: ih, PeerId: peerID(id), Left: left, Event: ev, Port: port, NumWant: -1}
}

func tryAnnounceHTTP(ctx context.Context, base string, ih [20]byte, id string, port uint16, left int64, ev anatracker.AnnounceEvent) (anatracker.AnnounceResponse, error) {
	resp, err := anatracker.Announce{
		TrackerUrl: base + "/announce",
		Context:    ctx,
		Request:    clientAnnounce(ih, id, port, left, ev),
	}.Do()
	if err != nil {
		return resp, fmt.Errorf("announce %s: %w", id, err)
	}
	return resp, nil
}

func wantStats(t *testing.T, tr *Tracker, ih [20]byte, want Stats) {
	t.Helper()
	got, ok := tr.Stats(ih)
	if !ok {
		t.Fatalf("Stats(%x): not tracked", ih)
	}
	if got != want {
		t.Fatalf("Stats(%x) = %+v, want %+v", ih, got, want)
	}
}

func TestCompletionStoppedWithLeftZeroCounts(t *testing.T) {
	st := openStore(t)
	tr, base := newTestTracker(t, Config{}, st, nil)
	announceHTTP(t, base, hashA, "leech", 6881, 1000, anatracker.Started)
	wantStats(t, tr, hashA, Stats{Incomplete: 1})
	// aria2 --seed-time=0 goes straight to stopped with left=0.
	announceHTTP(t, base, hashA, "leech", 6881, 0, anatracker.Stopped)
	wantStats(t, tr, hashA, Stats{Downloaded: 1})
	if n, _ := st.CompletionCount(t.Context(), hex.EncodeToString(hashA[:])); n != 1 {
		t.Fatalf("store count = %d, want 1", n)
	}
}

func TestCompletionViaCompletedAndRegularAnnounce(t *testing.T) {
	tr, base := newTestTracker(t, Config{}, openStore(t), nil)
	announceHTTP(t, base, hashA, "one", 6881, 10, anatracker.Started)
	announceHTTP(t, base, hashA, "one", 6881, 0, anatracker.Completed)
	announceHTTP(t, base, hashA, "two", 6882, 10, anatracker.Started)
	announceHTTP(t, base, hashA, "two", 6882, 0, anatracker.None)
	// One listener (same address, same client): one counted download that day.
	wantStats(t, tr, hashA, Stats{Complete: 2, Downloaded: 1})
}

func TestSeederOnlyNeverCounts(t *testing.T) {
	st := openStore(t)
	tr, base := newTestTracker(t, Config{}, st, nil)
	announceHTTP(t, base, hashA, "seed", 6881, 0, anatracker.Started)
	announceHTTP(t, base, hashA, "seed", 6881, 0, anatracker.None)
	announceHTTP(t, base, hashA, "seed", 6881, 0, anatracker.Completed)
	wantStats(t, tr, hashA, Stats{Complete: 1})
	announceHTTP(t, base, hashA, "seed", 6881, 0, anatracker.Stopped)
	wantStats(t, tr, hashA, Stats{})
	if n, _ := st.CompletionCount(t.Context(), hex.EncodeToString(hashA[:])); n != 0 {
		t.Fatalf("store count = %d, want 0", n)
	}
}

func TestRepeatCompletionsCountOnce(t *testing.T) {
	st := openStore(t)
	tr, base := newTestTracker(t, Config{}, st, nil)
	announceHTTP(t, base, hashA, "rep", 6881, 10, anatracker.Started)
	announceHTTP(t, base, hashA, "rep", 6881, 0, anatracker.Completed)
	announceHTTP(t, base, hashA, "rep", 6881, 0, anatracker.None)
	announceHTTP(t, base, hashA, "rep", 6881, 0, anatracker.Stopped)
	// The same peer downloads again (deleted the file): the store dedupes it.
	announceHTTP(t, base, hashA, "rep", 6881, 10, anatracker.Started)
	announceHTTP(t, base, hashA, "rep", 6881, 0, anatracker.Stopped)
	wantStats(t, tr, hashA, Stats{Downloaded: 1})
	// Other torrents are independent.
	wantStats(t, tr, hashB, Stats{})

	// A restarted tracker loads the count from the store.
	tr2 := New(Config{}, st, testLogger(t), nil)
	if err := tr2.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	wantStats(t, tr2, hashA, Stats{Downloaded: 1})
}

func TestNilStoreCountsInMemory(t *testing.T) {
	tr, base := newTestTracker(t, Config{}, nil, nil)
	announceHTTP(t, base, hashA, "p", 6881, 10, anatracker.Started)
	announceHTTP(t, base, hashA, "p", 6881, 0, anatracker.Stopped)
	wantStats(t, tr, hashA, Stats{Downloaded: 1})
}

func TestExpiry(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := Config{AnnounceInterval: time.Minute, PeerTTL: 3 * time.Minute}
	tr, base := newTestTracker(t, cfg, openStore(t), clk.now)
	announceHTTP(t, base, hashA, "old", 7001, 10, anatracker.Started)
	clk.advance(2 * time.Minute)
	announceHTTP(t, base, hashA, "new", 7002, 0, anatracker.Started)
	wantStats(t, tr, hashA, Stats{Complete: 1, Incomplete: 1})

	clk.advance(90 * time.Second) // "old" is now idle for longer than PeerTTL
	// Even before a sweep, an idle peer is not handed out.
	resp := announceHTTP(t, base, hashA, "third", 7003, 10, anatracker.Started)
	for _, p := range resp.Peers {
		if p.Port == 7001 {
			t.Fatalf("expired peer returned: %v", resp.Peers)
		}
	}
	tr.sweep()
	wantStats(t, tr, hashA, Stats{Complete: 1, Incomplete: 1})
	clk.advance(4 * time.Minute)
	tr.sweep()
	wantStats(t, tr, hashA, Stats{})
}

func TestRunStopsWithContext(t *testing.T) {
	tr := New(Config{}, nil, testLogger(t), nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		tr.Run(ctx)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// A full swarm evicts its stalest peer for a newcomer, and the evicted
// peer's completion still counts.
func TestFullSwarmEvictsStalestAndStillCounts(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := New(Config{MaxPeersPerTorrent: 2, AnnouncesPerIPPerMinute: -1}, openStore(t), testLogger(t), clk.now)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	mustAnn(t, tr, hashA, rawID("-qB4650-p1"), "127.0.5.1", 10, eventStarted)
	clk.advance(time.Second)
	mustAnn(t, tr, hashA, rawID("-qB4650-p2"), "127.0.5.2", 10, eventStarted)
	clk.advance(time.Second)
	mustAnn(t, tr, hashA, rawID("-qB4650-p3"), "127.0.5.3", 10, eventStarted)
	wantStats(t, tr, hashA, Stats{Incomplete: 2})
	tr.mu.Lock()
	_, p1 := tr.swarms[hashA].peers[rawID("-qB4650-p1")]
	_, p3 := tr.swarms[hashA].peers[rawID("-qB4650-p3")]
	tr.mu.Unlock()
	if p1 || !p3 {
		t.Fatalf("p1 stored %v, p3 stored %v: want the stalest (p1) evicted for p3", p1, p3)
	}
	clk.advance(time.Second)
	mustAnn(t, tr, hashA, rawID("-qB4650-p1"), "127.0.5.1", 0, eventCompleted)
	if n := downloaded(t, tr, hashA); n != 1 {
		t.Fatalf("evicted peer's completion: downloaded = %d, want 1", n)
	}
}

// One IPv6 /48 holds at most MaxPeersPerPrefix places in a swarm.
func TestPerPrefixCapEvictsThatPrefix(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := New(Config{MaxPeersPerPrefix: 2, AnnouncesPerIPPerMinute: -1}, nil, testLogger(t), clk.now)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	for i, ip := range []string{"2001:db8:9::1", "2001:db8:1:1::1", "2001:db8:1:2::1", "2001:db8:1:3::1"} {
		clk.advance(time.Second)
		mustAnn(t, tr, hashA, rawID(fmt.Sprintf("-qB4650-%d", i)), ip, 10, eventStarted)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s := tr.swarms[hashA]
	_, other := s.peers[rawID("-qB4650-0")]
	_, first := s.peers[rawID("-qB4650-1")]
	if len(s.peers) != 3 || !other || first {
		t.Fatalf("%d peers, other /48 kept %v, first of the capped /48 kept %v; want 3, true, false", len(s.peers), other, first)
	}
}

func TestForgetAndAllow(t *testing.T) {
	tr, base := newTestTracker(t, Config{}, nil, nil)
	announceHTTP(t, base, hashA, "p", 7001, 10, anatracker.Started)
	tr.Forget(hashA)
	if _, ok := tr.Stats(hashA); ok {
		t.Fatal("forgotten hash still tracked")
	}
	_, err := anatracker.Announce{
		TrackerUrl: base + "/announce",
		Context:    t.Context(),
		Request:    anatracker.AnnounceRequest{InfoHash: hashA, PeerId: peerID("p"), Port: 7001, Left: 1},
	}.Do()
	if err == nil {
		t.Fatal("announce for forgotten hash succeeded")
	}
	// Allowing twice keeps the swarm.
	announceHTTP(t, base, hashB, "p", 7001, 10, anatracker.Started)
	if err := tr.Allow(t.Context(), hashB, 0); err != nil {
		t.Fatal(err)
	}
	wantStats(t, tr, hashB, Stats{Incomplete: 1})
}

// TestPickSeederGetsLeechersFirst: a seeder hears of leechers before other seeders, and of
// seeders too when there is room (aria2 fetching metadata from a magnet announces left=0 and
// would otherwise never find anyone who has the torrent).
func TestPickSeederGetsLeechersFirst(t *testing.T) {
	_, base := newTestTracker(t, Config{}, nil, nil)
	announceHTTP(t, base, hashA, "s1", 7001, 0, anatracker.Started)
	announceHTTP(t, base, hashA, "l1", 7002, 5, anatracker.Started)
	for range 10 { // map order varies: the leecher must come first every time
		v := announceValues(hashA, "s2", 7003, 0)
		v.Set("numwant", "1")
		v.Set("compact", "1")
		peers, _ := getBencode(t, base+"/announce?"+v.Encode())["peers"].(string)
		if len(peers) != 6 || binary.BigEndian.Uint16([]byte(peers[4:])) != 7002 {
			t.Fatalf("seeder asking for one peer got %x, want the leecher on port 7002", peers)
		}
	}
	resp := announceHTTP(t, base, hashA, "s2", 7003, 0, anatracker.None)
	ports := map[int]bool{}
	for _, p := range resp.Peers {
		ports[p.Port] = true
	}
	if len(resp.Peers) != 2 || !ports[7001] || !ports[7002] {
		t.Fatalf("seeder got peers %v, want the leecher and the other seeder", resp.Peers)
	}
	if resp.Seeders != 2 || resp.Leechers != 1 {
		t.Fatalf("counts = %d seeders %d leechers, want 2 and 1", resp.Seeders, resp.Leechers)
	}
}

func TestConcurrentAnnouncesKeepCountsConsistent(t *testing.T) {
	clk := &clock{t: time.Now()}
	// About 90 announces from one address with a frozen clock: not a rate-limit test.
	tr, base := newTestTracker(t, Config{AnnouncesPerIPPerMinute: -1}, openStore(t), clk.now)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 20 {
				id := fmt.Sprintf("w%d-%d", w, i%10)
				port := uint16(7000 + i%10)
				if _, err := tryAnnounceHTTP(t.Context(), base, hashA, id, port, int64(i%3), anatracker.None); err != nil {
					t.Error(err)
				}
				if i%7 == 0 {
					if _, err := tryAnnounceHTTP(t.Context(), base, hashA, id, port, 0, anatracker.Stopped); err != nil {
						t.Error(err)
					}
				}
				tr.sweep()
			}
		})
	}
	wg.Wait()
	tr.mu.Lock()
	s := tr.swarms[hashA]
	seeders, leechers := int64(0), int64(0)
	for _, p := range s.peers {
		if p.seeder {
			seeders++
		} else {
			leechers++
		}
	}
	got := s.stats()
	tr.mu.Unlock()
	if got.Complete != seeders || got.Incomplete != leechers {
		t.Fatalf("stats %+v, but peers hold %d seeders and %d leechers", got, seeders, leechers)
	}
	// Many peers go from left>0 to left=0, all one listener (one address, one client).
	if got.Downloaded != 1 {
		t.Fatalf("downloaded = %d, want 1", got.Downloaded)
	}
	clk.advance(time.Hour)
	tr.sweep()
	wantStats(t, tr, hashA, Stats{Downloaded: got.Downloaded})
}
