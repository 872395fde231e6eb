package tracker

import (
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	anatracker "github.com/anacrolix/torrent/tracker"

	"github.com/seedcast/seedcast/store/sqlite"
)

// A download that starts before the gateway restarts and completes after it
// is counted, because the swarms are saved to the store and taken back.
func TestPeersSurviveRestart(t *testing.T) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	clock := func() time.Time { return now }

	before, base := newTestTracker(t, Config{}, st, clock)
	announceHTTP(t, base, hashA, "downloading", 7001, 1000, anatracker.Started)
	announceHTTP(t, base, hashA, "seed", 7002, 0, anatracker.Started)
	announceHTTP(t, base, hashB, "stale", 7003, 1000, anatracker.Started)
	if err := st.SaveTrackerPeers(t.Context(), before.Peers()); err != nil {
		t.Fatal(err)
	}

	// The restart: a new process, the stale peer's time up while it was down.
	now = now.Add(time.Minute)
	after, base := newTestTracker(t, Config{PeerTTL: 90 * time.Second}, st, clock)
	peers, err := st.TakeTrackerPeers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := range peers {
		if peers[i].PeerID == peerID("stale") {
			peers[i].LastSeen = now.Add(-time.Hour)
		}
	}
	if n := after.RestorePeers(peers); n != 2 {
		t.Fatalf("restored %d peers, want 2 (the stale one expired)", n)
	}
	if again, err := st.TakeTrackerPeers(t.Context()); err != nil || len(again) != 0 {
		t.Fatalf("peers left on disk after taking them: %d, %v", len(again), err)
	}
	if s, _ := after.Stats(hashA); s.Complete != 1 || s.Incomplete != 1 {
		t.Fatalf("restored swarm = %+v, want 1 seeder and 1 leecher", s)
	}
	// A new peer gets the restored ones at once.
	if resp := announceHTTP(t, base, hashA, "newcomer", 7004, 1000, anatracker.Started); len(resp.Peers) != 2 {
		t.Fatalf("peers for a newcomer = %v, want the two restored", resp.Peers)
	}

	announceHTTP(t, base, hashA, "downloading", 7001, 0, anatracker.Completed)
	if s, _ := after.Stats(hashA); s.Downloaded != 1 {
		t.Fatalf("downloaded = %d after the completion, want 1", s.Downloaded)
	}
	if n, err := st.CompletionCount(t.Context(), hex.EncodeToString(hashA[:])); err != nil || n != 1 {
		t.Fatalf("stored completions = %d, %v; want 1", n, err)
	}
}
