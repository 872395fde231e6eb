package tracker

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store/sqlite"
)

// fuzzAddrs are a few prefixes: two IPv4 addresses, two addresses of one
// IPv6 /64, one of another /64 in the same /48, and one elsewhere.
var fuzzAddrs = []string{"127.0.5.9", "127.0.5.10", "2001:db8:1:1::1", "2001:db8:1:1:ffff::2",
	"2001:db8:1:2::1", "2001:db8:9::1"}

// fuzzIDPrefixes are known clients, shadow-style ones and invented codes.
var fuzzIDPrefixes = []string{"-qB4650-", "-TR3000-", "-ZZ0001-", "-Q10001-", "M7-1-0--", "A2-1-37-0-", "xyzzy", "-lt0D00-"}

// listenerIndependently is what the property bounds counting by, computed
// without the tracker's own code for addresses: the IPv4 address or the
// first 64 bits of the IPv6 one, and the client family.
func listenerIndependently(addr netip.Addr, id [20]byte) string {
	b := addr.As16()
	if addr.Is4() {
		return fmt.Sprintf("%x/%s", b, clientFamily(id))
	}
	return fmt.Sprintf("%x/%s", b[:8], clientFamily(id))
}

// FuzzCountedDownloadsBoundedByListeners: any sequence of announces (peer
// ids, addresses, lefts, events, clock steps) never makes a torrent's counted
// downloads of a UTC day exceed the distinct listeners that announced that day.
func FuzzCountedDownloadsBoundedByListeners(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 0, 0, 0, 200, 1, 0, 0, 1, 1, 2, 1, 1, 2, 0, 0, 255})
	f.Add([]byte("minting: many ids, many addresses, left>0 then left=0 at once, days apart"))
	st, err := sqlite.Open(f.Context(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	run := 0
	f.Fuzz(func(t *testing.T, ops []byte) {
		run++
		var ih [20]byte
		copy(ih[:], fmt.Sprintf("fuzz-%d-%d", run, time.Now().UnixNano()))
		clk := &clock{t: time.Date(2026, 11, 1, 23, 0, 0, 0, time.UTC)}
		tr := New(Config{AnnouncesPerIPPerMinute: -1, MaxPeersPerTorrent: 8, MaxPeersPerPrefix: 3}, st, slog.New(slog.DiscardHandler), clk.now)
		// 1 GB: at 125 MB/s a completion needs 8 s since its start.
		if err := tr.Allow(t.Context(), ih, 1_000_000_000); err != nil {
			t.Fatal(err)
		}
		listeners := make(map[string]map[string]bool) // UTC day -> listeners that announced
		for len(ops) >= 4 {
			op := ops[:4]
			ops = ops[4:]
			var id [20]byte
			copy(id[:], fuzzIDPrefixes[int(op[0]>>4)%len(fuzzIDPrefixes)])
			id[19] = op[0] & 0x0f // 16 peers per prefix
			addr := netip.MustParseAddr(fuzzAddrs[int(op[1])%len(fuzzAddrs)])
			left := int64(0)
			if op[2]&1 == 1 {
				left = int64(op[2])
			}
			ev := event(op[2] >> 1 % 4)
			day := clk.now().UTC().Format("2006-01-02")
			if listeners[day] == nil {
				listeners[day] = make(map[string]bool)
			}
			listeners[day][listenerIndependently(addr, id)] = true
			_, _ = tr.announce(t.Context(), announceRequest{infoHash: ih, peerID: id, left: left, event: ev,
				addr: netip.AddrPortFrom(addr, 7000+uint16(op[3])), numWant: -1})
			// Clock steps from none to about two hours, so runs span days.
			clk.advance(time.Duration(op[3]) * time.Duration(op[3]) * 100 * time.Millisecond)
		}
		times, err := st.Completions(t.Context(), hex.EncodeToString(ih[:]))
		if err != nil {
			t.Fatal(err)
		}
		perDay := make(map[string]int)
		for _, at := range times {
			perDay[at.UTC().Format("2006-01-02")]++
		}
		for day, n := range perDay {
			if n > len(listeners[day]) {
				t.Fatalf("%s: %d counted downloads from %d distinct listeners", day, n, len(listeners[day]))
			}
		}
		if s, _ := tr.Stats(ih); s.Downloaded != int64(len(times)) {
			t.Fatalf("in-memory downloaded %d, stored %d", s.Downloaded, len(times))
		}
	})
}
