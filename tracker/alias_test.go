package tracker

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	anatracker "github.com/anacrolix/torrent/tracker"
)

// TestAliasIsTheSameTorrent: a hybrid torrent's truncated v2 hash, as v2 clients announce it, is
// the torrent's swarm: a peer announcing under both is one peer, its completion under either is
// one counted download, stored under the v1 hash, and a scrape of the alias answers for it.
func TestAliasIsTheSameTorrent(t *testing.T) {
	st := openStore(t)
	tr, base := newTestTracker(t, Config{AnnouncesPerIPPerMinute: -1}, st, nil)
	alias := [20]byte{0xa2, 0xa2, 9}
	if err := tr.Allow(t.Context(), hashA, 0, alias); err != nil {
		t.Fatal(err)
	}
	announceHTTP(t, base, alias, "hybrid-leech", 7001, 100, anatracker.Started)
	announceHTTP(t, base, hashA, "hybrid-leech", 7001, 100, anatracker.None)
	announceHTTP(t, base, hashA, "v1-seed", 7002, 0, anatracker.Started)
	wantStats(t, tr, hashA, Stats{Complete: 1, Incomplete: 1})

	// The v1 client is handed the v2 client, and the other way round.
	if resp := announceHTTP(t, base, alias, "hybrid-leech", 7001, 100, anatracker.None); len(resp.Peers) != 1 || resp.Peers[0].Port != 7002 {
		t.Fatalf("alias announce got peers %+v, want the v1 seeder", resp.Peers)
	}

	announceHTTP(t, base, alias, "hybrid-leech", 7001, 0, anatracker.Completed)
	announceHTTP(t, base, hashA, "hybrid-leech", 7001, 0, anatracker.Completed)
	wantStats(t, tr, hashA, Stats{Complete: 2, Downloaded: 1})
	if n, err := st.CompletionCount(t.Context(), hex.EncodeToString(hashA[:])); err != nil || n != 1 {
		t.Fatalf("stored completions of the v1 hash = %d, %v; want 1", n, err)
	}
	if n, _ := st.CompletionCount(t.Context(), hex.EncodeToString(alias[:])); n != 0 {
		t.Fatalf("stored completions of the alias = %d, want 0", n)
	}

	resp, err := http.Get(base + "/scrape?info_hash=" + url.QueryEscape(string(alias[:])))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct {
		Files map[string]struct {
			Complete   int64 `bencode:"complete"`
			Downloaded int64 `bencode:"downloaded"`
		} `bencode:"files"`
	}
	if err := bencode.Unmarshal(body, &got); err != nil {
		t.Fatalf("scrape %q: %v", body, err)
	}
	if f, ok := got.Files[string(alias[:])]; !ok || f.Complete != 2 || f.Downloaded != 1 {
		t.Fatalf("scrape of the alias = %+v", got.Files)
	}

	tr.Forget(hashA)
	if _, err := tryAnnounceHTTP(t.Context(), base, alias, "late", 7003, 100, anatracker.Started); err == nil {
		t.Fatal("the alias of a forgotten torrent is still tracked")
	}
}
