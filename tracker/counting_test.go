package tracker

import (
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// ann sends one announce from ip (port 7000) straight to the tracker's logic.
func ann(t *testing.T, tr *Tracker, ih [20]byte, id [20]byte, ip string, left int64, ev event) error {
	t.Helper()
	_, err := tr.announce(t.Context(), announceRequest{infoHash: ih, peerID: id, left: left, event: ev,
		addr: netip.AddrPortFrom(netip.MustParseAddr(ip), 7000), numWant: -1})
	return err
}

func mustAnn(t *testing.T, tr *Tracker, ih [20]byte, id [20]byte, ip string, left int64, ev event) {
	t.Helper()
	if err := ann(t, tr, ih, id, ip, left, ev); err != nil {
		t.Fatalf("announce %q from %s: %v", id, ip, err)
	}
}

func rawID(s string) [20]byte {
	var id [20]byte
	copy(id[:], s)
	return id
}

func downloaded(t *testing.T, tr *Tracker, ih [20]byte) int64 {
	t.Helper()
	s, ok := tr.Stats(ih)
	if !ok {
		t.Fatalf("%x not tracked", ih)
	}
	return s.Downloaded
}

func newCountingTracker(t *testing.T, st Store, clk *clock, length int64) *Tracker {
	t.Helper()
	tr := New(Config{AnnouncesPerIPPerMinute: -1}, st, testLogger(t), clk.now)
	if err := tr.Allow(t.Context(), hashA, length); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestCountedOncePerListenerPerUTCDay(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := newCountingTracker(t, st, clk, 0)
	complete := func(id, ip string) {
		t.Helper()
		mustAnn(t, tr, hashA, rawID(id), ip, 100, eventStarted)
		clk.advance(time.Second)
		mustAnn(t, tr, hashA, rawID(id), ip, 0, eventCompleted)
	}
	// Minting: many peer ids, many addresses of one IPv6 /64, one client.
	complete("-qB4650-aaaaaaaaaaaa", "2001:db8:1:1::1")
	complete("-qB4650-bbbbbbbbbbbb", "2001:db8:1:1::2")
	complete("-qB4650-cccccccccccc", "2001:db8:1:1:ffff::3")
	if n := downloaded(t, tr, hashA); n != 1 {
		t.Fatalf("one /64, one client: downloaded = %d, want 1", n)
	}
	// Invented client codes fold into one "other" family.
	complete("-Z14650-aaaaaaaaaaaa", "2001:db8:1:1::1")
	complete("-Z24650-aaaaaaaaaaaa", "2001:db8:1:1::1")
	complete("xyzzy-aaaaaaaaaaaaaa", "2001:db8:1:1::1")
	if n := downloaded(t, tr, hashA); n != 2 {
		t.Fatalf("plus unknown clients: downloaded = %d, want 2 (qB and other)", n)
	}
	// Another /64, another IPv4 address, another known client: new listeners.
	complete("-qB4650-dddddddddddd", "2001:db8:1:2::1")
	complete("-qB4650-eeeeeeeeeeee", "127.0.5.9")
	complete("-TR3000-eeeeeeeeeeee", "127.0.5.9")
	if n := downloaded(t, tr, hashA); n != 5 {
		t.Fatalf("downloaded = %d, want 5", n)
	}
	// A restart the same day keeps the dedupe (the day's salt is in the store).
	tr2 := newCountingTracker(t, st, clk, 0)
	complete2 := func(id, ip string) {
		mustAnn(t, tr2, hashA, rawID(id), ip, 100, eventStarted)
		clk.advance(time.Second)
		mustAnn(t, tr2, hashA, rawID(id), ip, 0, eventCompleted)
	}
	complete2("-qB4650-ffffffffffff", "127.0.5.9")
	if n := downloaded(t, tr2, hashA); n != 5 {
		t.Fatalf("after a restart the same day: downloaded = %d, want 5", n)
	}
	// The next UTC day the same listener counts again.
	clk.advance(14 * time.Hour)
	complete2("-qB4650-gggggggggggg", "127.0.5.9")
	if n := downloaded(t, tr2, hashA); n != 6 {
		t.Fatalf("the next day: downloaded = %d, want 6", n)
	}
	// The store holds neither addresses nor peer ids.
	peers, err := st.TakeTrackerPeers(t.Context())
	if err != nil || len(peers) != 0 {
		t.Fatalf("saved peers = %v, %v", peers, err)
	}
}

func TestImplausiblyFastCompletionNotCounted(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	// 1.25 GB at the default 125 MB/s takes at least 10 s.
	tr := newCountingTracker(t, openStore(t), clk, 1_250_000_000)
	mustAnn(t, tr, hashA, rawID("-qB4650-fast"), "127.0.5.9", 1_250_000_000, eventStarted)
	clk.advance(9 * time.Second)
	mustAnn(t, tr, hashA, rawID("-qB4650-fast"), "127.0.5.9", 0, eventCompleted)
	if n := downloaded(t, tr, hashA); n != 0 {
		t.Fatalf("completion after 9 s counted: downloaded = %d", n)
	}
	mustAnn(t, tr, hashA, rawID("-TR3000-slow"), "127.0.5.10", 1_250_000_000, eventStarted)
	clk.advance(10 * time.Second)
	mustAnn(t, tr, hashA, rawID("-TR3000-slow"), "127.0.5.10", 0, eventCompleted)
	if n := downloaded(t, tr, hashA); n != 1 {
		t.Fatalf("completion after 10 s: downloaded = %d, want 1", n)
	}
}

// A seeder re-checking its pieces (the gateway's own seeder or a node's, at start) may announce
// bytes left and then none: a peer first seen seeding never counts as a download.
func TestSeederRecheckingNeverCounts(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := newCountingTracker(t, openStore(t), clk, 0)
	id := rawID("-GT0003-seederseeder")
	mustAnn(t, tr, hashA, id, "127.0.5.9", 0, eventStarted)
	clk.advance(time.Minute)
	mustAnn(t, tr, hashA, id, "127.0.5.9", 100, eventNone)
	clk.advance(time.Minute)
	mustAnn(t, tr, hashA, id, "127.0.5.9", 0, eventCompleted)
	if n := downloaded(t, tr, hashA); n != 0 {
		t.Fatalf("a seeder's re-check counted: downloaded = %d", n)
	}
	// The same after a restart: a restored seeder keeps the rule.
	tr2 := newCountingTracker(t, openStore(t), clk, 0)
	if n := tr2.RestorePeers(tr.Peers()); n != 1 {
		t.Fatalf("restored %d peers, want 1", n)
	}
	mustAnn(t, tr2, hashA, id, "127.0.5.9", 100, eventNone)
	clk.advance(time.Minute)
	mustAnn(t, tr2, hashA, id, "127.0.5.9", 0, eventCompleted)
	if n := downloaded(t, tr2, hashA); n != 0 {
		t.Fatalf("a restored seeder's re-check counted: downloaded = %d", n)
	}
	// A listener is still counted.
	mustAnn(t, tr2, hashA, rawID("-qB4650-listener0001"), "127.0.5.10", 100, eventStarted)
	clk.advance(time.Minute)
	mustAnn(t, tr2, hashA, rawID("-qB4650-listener0001"), "127.0.5.10", 0, eventCompleted)
	if n := downloaded(t, tr2, hashA); n != 1 {
		t.Fatalf("a listener after the seeder: downloaded = %d, want 1", n)
	}
}

// aria2 fetching a magnet's metadata announces left=0 (event started), then starts the download
// itself under the same peer_id: that download counts like any other, and the plausibility window
// opens at its own start.
func TestMagnetMetadataAnnounceThenDownloadCounts(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	// 1.25 GB at the default 125 MB/s takes at least 10 s.
	tr := newCountingTracker(t, openStore(t), clk, 1_250_000_000)
	id := rawID("A2-1-36-0-magnetmagn")
	mustAnn(t, tr, hashA, id, "127.0.5.9", 0, eventStarted)
	clk.advance(time.Hour)
	mustAnn(t, tr, hashA, id, "127.0.5.9", 1_250_000_000, eventStarted)
	mustAnn(t, tr, hashA, id, "127.0.5.9", 0, eventCompleted) // 0 s after its start: not plausible
	if n := downloaded(t, tr, hashA); n != 0 {
		t.Fatalf("completion at the same instant as its start counted: downloaded = %d", n)
	}
	id2 := rawID("A2-1-36-0-magnetmag2")
	mustAnn(t, tr, hashA, id2, "127.0.5.10", 0, eventStarted)
	mustAnn(t, tr, hashA, id2, "127.0.5.10", 1_250_000_000, eventStarted)
	clk.advance(10 * time.Second)
	mustAnn(t, tr, hashA, id2, "127.0.5.10", 0, eventCompleted)
	if n := downloaded(t, tr, hashA); n != 1 {
		t.Fatalf("magnet download after its metadata announce: downloaded = %d, want 1", n)
	}
}

// Seeders is where a replicating node finds its bytes: seeders only, the freshest first.
func TestSeedersFreshestFirst(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := newCountingTracker(t, openStore(t), clk, 0)
	mustAnn(t, tr, hashA, rawID("-GT0003-seeder000001"), "127.0.5.1", 0, eventStarted)
	mustAnn(t, tr, hashA, rawID("-qB4650-leecher00001"), "127.0.5.2", 100, eventStarted)
	clk.advance(time.Second)
	mustAnn(t, tr, hashA, rawID("-GT0003-seeder000002"), "127.0.5.3", 0, eventStarted)
	got := tr.Seeders(hashA, 10)
	want := []netip.AddrPort{netip.MustParseAddrPort("127.0.5.3:7000"), netip.MustParseAddrPort("127.0.5.1:7000")}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("Seeders = %v, want %v", got, want)
	}
	if got := tr.Seeders(hashA, 1); len(got) != 1 || got[0] != want[0] {
		t.Fatalf("Seeders(1) = %v, want %v", got, want[:1])
	}
	if got := tr.Seeders(hashB, 10); got != nil {
		t.Fatalf("Seeders of an untracked torrent = %v", got)
	}
}

func TestPeerIDBoundToItsAddress(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	tr := newCountingTracker(t, openStore(t), clk, 0)
	victim := rawID("-qB4650-victimvictim")
	mustAnn(t, tr, hashA, victim, "127.0.5.9", 100, eventStarted)
	for _, ev := range []event{eventStarted, eventStopped, eventCompleted} {
		if err := ann(t, tr, hashA, victim, "127.0.6.6", 0, ev); !errors.Is(err, errPeerIDInUse) {
			t.Fatalf("event %d with the victim's peer id from elsewhere: err = %v, want %v", ev, err, errPeerIDInUse)
		}
	}
	tr.mu.Lock()
	p := tr.swarms[hashA].peers[victim]
	tr.mu.Unlock()
	if p == nil || p.addr.Addr() != netip.MustParseAddr("127.0.5.9") || p.seeder {
		t.Fatalf("victim's peer = %+v, want untouched", p)
	}
	// The victim's own port change is fine, and its completion counts.
	clk.advance(time.Second)
	if _, err := tr.announce(t.Context(), announceRequest{infoHash: hashA, peerID: victim, event: eventCompleted,
		addr: netip.MustParseAddrPort("127.0.5.9:7100"), numWant: -1}); err != nil {
		t.Fatal(err)
	}
	if s, _ := tr.Stats(hashA); s.Downloaded != 1 || s.Complete != 1 {
		t.Fatalf("stats = %+v, want the victim's completion", s)
	}
}

func TestSelfAnnounceRefused(t *testing.T) {
	_, base := newTestTracker(t, Config{SelfUserAgent: "Seedcast/1 test"}, openStore(t), nil)
	v := announceValues(hashA, "self", 7001, 0)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/announce?"+v.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "Seedcast/1 test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(body), string(errSelfAnnounce)) {
		t.Fatalf("reply %q, %v; want the failure %q", body, err, errSelfAnnounce)
	}
}
