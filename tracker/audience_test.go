package tracker

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/geoip"
	"github.com/seedcast/seedcast/geoip/geoiptest"
	"github.com/seedcast/seedcast/store"
)

// publishA makes hashA the torrent of feed "show", so the feed-wide audience reads see it.
func publishA(t *testing.T, st store.Store, at time.Time) {
	t.Helper()
	ctx := t.Context()
	ep := store.Episode{Key: "guid:1", GUID: "1", EnclosureURL: "http://example.com/1.mp3"}
	if err := st.EnsureFeed(ctx, "show", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveChannel(ctx, store.Feed{Slug: "show"}, []store.Episode{ep}, at); err != nil {
		t.Fatal(err)
	}
	ih := hex.EncodeToString(hashA[:])
	if err := st.Publish(ctx, "show", ep.Key, store.Publication{InfoHash: ih, TorrentPath: "t/" + ih,
		TorrentSize: 1, MediaPath: "m/1", MediaSize: 1, At: at}); err != nil {
		t.Fatal(err)
	}
}

// TestAudienceStartsAndDownloads: a listener's start and counted download are stored with
// its app and country; a peer that only ever seeded and the gateway's own address are never a
// start, a download or a listener, whatever they announce.
func TestAudienceStartsAndDownloads(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	publishA(t, st, clk.now())
	geo, err := geoip.Open(geoiptest.Write(t, t.TempDir(), map[string]string{"127.0.5.0/24": "DE", "127.1.0.0/16": "FR"}))
	if err != nil {
		t.Fatal(err)
	}
	defer geo.Close()
	self := netip.MustParseAddr("127.0.9.9")
	tr := New(Config{AnnouncesPerIPPerMinute: -1, SelfAddrs: []netip.Addr{self}, Locator: geo}, st, testLogger(t), clk.now)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	// The gateway's seeder: seeds only.
	mustAnn(t, tr, hashA, rawID("-LT2090-seedseedseed"), "127.0.0.1", 0, eventStarted)
	// A peer that first seeded, then says it has bytes left, then done: never counts.
	mustAnn(t, tr, hashA, rawID("-TR4060-seedonlypeer"), "127.1.2.3", 0, eventStarted)
	mustAnn(t, tr, hashA, rawID("-TR4060-seedonlypeer"), "127.1.2.3", 10, eventNone)
	clk.advance(time.Minute)
	mustAnn(t, tr, hashA, rawID("-TR4060-seedonlypeer"), "127.1.2.3", 0, eventCompleted)
	// The gateway's own node downloading (a replica): never counts.
	mustAnn(t, tr, hashA, rawID("-qB4650-selfselfself"), self.String(), 100, eventStarted)
	clk.advance(time.Minute)
	mustAnn(t, tr, hashA, rawID("-qB4650-selfselfself"), self.String(), 0, eventCompleted)
	// Listeners: qBittorrent in DE starts and completes; aria2 in an unplaced address starts
	// and completes; a Transmission in FR only starts.
	mustAnn(t, tr, hashA, rawID("-qB4650-k8hj0wgej6ch"), "127.0.5.9", 100, eventStarted)
	mustAnn(t, tr, hashA, rawID("A2-1-37-0-abcdefghij"), "127.3.0.1", 100, eventStarted)
	mustAnn(t, tr, hashA, rawID("-TR4060-pq0l9k8j7h6g"), "127.1.9.9", 100, eventStarted)
	clk.advance(time.Minute)
	mustAnn(t, tr, hashA, rawID("-qB4650-k8hj0wgej6ch"), "127.0.5.9", 0, eventCompleted)
	mustAnn(t, tr, hashA, rawID("A2-1-37-0-abcdefghij"), "127.3.0.1", 0, eventStopped)
	if n := downloaded(t, tr, hashA); n != 2 {
		t.Fatalf("counted downloads = %d, want 2 (qBittorrent and aria2)", n)
	}
	counts, err := st.FeedAudienceCounts(t.Context(), "show")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(counts[hex.EncodeToString(hashA[:])])
	want := "[{2026-11-01 download aria2 unknown 1} {2026-11-01 download qBittorrent DE 1} " +
		"{2026-11-01 start Transmission FR 1} {2026-11-01 start aria2 unknown 1} {2026-11-01 start qBittorrent DE 1}]"
	if got != want {
		t.Fatalf("audience counts:\n got %s\nwant %s", got, want)
	}
	listens, err := st.FeedListens(t.Context(), "show", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ls := listens[hex.EncodeToString(hashA[:])]
	if len(ls) != 2 || ls[0].Listener == ls[1].Listener || len(ls[0].Listener) != 64 {
		t.Fatalf("download listens = %+v; want two distinct hashed listeners", ls)
	}
	for _, l := range ls {
		for _, addr := range []string{"127.0.5.9", "127.3.0.1"} {
			if l.Listener == addr {
				t.Fatalf("an address stored as a listener: %+v", l)
			}
		}
	}
}

// TestAudienceKeyStableThroughPeriodAndRestart: the audience key of one listener is the same
// all through its 30-day period, also from a new tracker on the same store (another node or a
// restart), and changes in the next period.
func TestAudienceKeyStableThroughPeriodAndRestart(t *testing.T) {
	st := openStore(t)
	start := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC) // a period starts (day 20760 = 30 × 692)
	l := listenerOf(netip.MustParseAddr("127.0.5.9"), rawID("-qB4650-k8hj0wgej6ch"))
	a := New(Config{}, st, testLogger(t), nil)
	k1 := a.audienceKey(t.Context(), l, start)
	b := New(Config{}, st, testLogger(t), nil)
	if k2 := b.audienceKey(t.Context(), l, start.Add(store.AudiencePeriod-time.Second)); k2 != k1 {
		t.Fatalf("key changed within the period on another tracker: %s, %s", k1, k2)
	}
	if k3 := b.audienceKey(t.Context(), l, start.Add(store.AudiencePeriod)); k3 == k1 {
		t.Fatal("key did not rotate with the period")
	}
	other := listenerOf(netip.MustParseAddr("127.0.5.9"), rawID("-TR4060-pq0l9k8j7h6g"))
	if a.audienceKey(t.Context(), other, start) == k1 {
		t.Fatal("two clients at one address share a key")
	}
}

// TestPruneListensPastRetention: Run's upkeep deletes per-listener rows older than
// store.AudienceRetention and keeps the newer ones.
func TestPruneListensPastRetention(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	publishA(t, st, clk.now())
	ih := hex.EncodeToString(hashA[:])
	for _, at := range []time.Time{clk.now().Add(-store.AudienceRetention - time.Hour), clk.now().Add(-time.Hour)} {
		if _, err := st.RecordListen(t.Context(), store.Listen{InfoHash: ih, Kind: store.ListenDownload,
			Listener: at.String(), Client: "other", Country: "unknown", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	tr := New(Config{}, st, testLogger(t), clk.now)
	tr.pruneListens(t.Context())
	listens, err := st.FeedListens(t.Context(), "show", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if ls := listens[ih]; len(ls) != 1 || !ls[0].At.Equal(clk.now().Add(-time.Hour)) {
		t.Fatalf("after pruning: %+v; want only the row of an hour ago", ls)
	}
}

// TestAudienceThroughTrustedProxy: peers arriving through a trusted reverse proxy are placed
// in countries by their X-Forwarded-For address (loopback ones, which the test database maps),
// not by the proxy's.
func TestAudienceThroughTrustedProxy(t *testing.T) {
	st := openStore(t)
	clk := &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}
	publishA(t, st, clk.now())
	geo, err := geoip.Open(geoiptest.Write(t, t.TempDir(), map[string]string{
		"127.0.0.1/32": "US", "127.0.5.0/24": "DE", "127.1.0.0/16": "FR"}))
	if err != nil {
		t.Fatal(err)
	}
	defer geo.Close()
	tr := New(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, AnnouncesPerIPPerMinute: -1,
		Locator: geo}, st, testLogger(t), clk.now)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	h := tr.AnnounceHandler()
	announce := func(xff, id string, left int) {
		t.Helper()
		v := url.Values{"info_hash": {string(hashA[:])}, "peer_id": {id}, "port": {"7000"}, "left": {fmt.Sprint(left)}}
		r := httptest.NewRequest(http.MethodGet, "/announce?"+v.Encode(), nil)
		r.RemoteAddr = "127.0.0.1:5000"
		r.Header.Set("X-Forwarded-For", xff)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if strings.Contains(w.Body.String(), "failure") {
			t.Fatalf("announce from %s: %s", xff, w.Body)
		}
	}
	announce("127.0.5.9", "-TR4060-pq0l9k8j7h6g", 10)
	announce("127.1.2.3", "-LT2090-abcdefghijkl", 10)
	clk.advance(time.Minute)
	announce("127.0.5.9", "-TR4060-pq0l9k8j7h6g", 0)
	announce("127.1.2.3", "-LT2090-abcdefghijkl", 0)
	counts, err := st.FeedAudienceCounts(t.Context(), "show")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(counts[hex.EncodeToString(hashA[:])])
	want := "[{2026-11-01 download Transmission DE 1} {2026-11-01 download libtorrent FR 1} " +
		"{2026-11-01 start Transmission DE 1} {2026-11-01 start libtorrent FR 1}]"
	if got != want {
		t.Fatalf("audience counts:\n got %s\nwant %s", got, want)
	}
}

func TestDayOnce(t *testing.T) {
	var d dayOnce
	t0 := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	if !d.first("a", t0) || d.first("a", t0.Add(30*time.Minute)) || !d.first("b", t0) {
		t.Fatal("first a, then a again, then b")
	}
	if !d.first("a", t0.Add(2*time.Hour)) { // the next UTC day
		t.Fatal("a not new on a new day")
	}
}
