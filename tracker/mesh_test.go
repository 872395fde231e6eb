package tracker

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store/postgres"
	"github.com/seedcast/seedcast/store/postgres/pgtest"
	"github.com/seedcast/seedcast/store/sqldb"
)

// Two nodes' trackers on one PostgreSQL, sharing their swarms over the mesh: a peer announced
// to node A is handed out by node B; a download started on A and finished on B counts once,
// on both nodes' figures and in the store; a peer stopped on A leaves B's swarm too.
func TestMeshSharesSwarmsAcrossNodes(t *testing.T) {
	dsn := meshDatabase(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ih := [20]byte{1, 2, 3}
	node := func(name string) *Tracker {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		mesh, err := postgres.NewMesh(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mesh.Close() })
		tr := New(Config{AnnouncesPerIPPerMinute: -1, MaxDownloadRate: 1 << 40}, st, testLogger(t).With("node", name), nil)
		tr.SetMesh(mesh)
		if err := tr.Allow(ctx, ih, 1000); err != nil {
			t.Fatal(err)
		}
		go postgres.ListenMesh(ctx, dsn, tr.ApplyMesh, testLogger(t))
		go tr.Run(ctx)
		return tr
	}
	a, b := node("a"), node("b")

	// The listeners start in the background: probe until B hears A.
	leecher, other := rawID("-qB4650-leecher00001"), rawID("-TR4050-other0000001")
	peersOf := func(tr *Tracker, asker [20]byte, ip string) (map[[20]byte]netip.AddrPort, error) {
		resp, err := tr.announce(ctx, announceRequest{infoHash: ih, peerID: asker, left: 500, numWant: -1,
			addr: netip.AddrPortFrom(netip.MustParseAddr(ip), 7001)})
		if err != nil {
			return nil, err
		}
		out := map[[20]byte]netip.AddrPort{}
		for _, p := range resp.peers {
			out[p.id] = p.addr
		}
		return out, nil
	}
	waitUntil(t, 30*time.Second, "node B to hand out the leecher announced to node A", func() error {
		mustAnn(t, a, ih, leecher, "127.0.5.9", 1000, eventStarted)
		peers, err := peersOf(b, other, "127.0.5.10")
		if err != nil {
			return err
		}
		if got := peers[leecher]; got != netip.MustParseAddrPort("127.0.5.9:7000") {
			return fmt.Errorf("B's peers = %v", peers)
		}
		return nil
	})

	// The leecher finishes on B: counted once, seen on A too.
	mustAnn(t, b, ih, leecher, "127.0.5.9", 0, eventCompleted)
	if d := downloaded(t, b, ih); d != 1 {
		t.Fatalf("B counted %d downloads, want 1", d)
	}
	waitUntil(t, 30*time.Second, "node A to show B's counted download", func() error {
		if d := downloaded(t, a, ih); d != 1 {
			return fmt.Errorf("A shows %d", d)
		}
		return nil
	})
	// Its next announce goes to A: already judged, not counted again anywhere.
	mustAnn(t, a, ih, leecher, "127.0.5.9", 0, eventCompleted)
	if n, err := a.store.CompletionCount(ctx, fmt.Sprintf("%x", ih)); err != nil || n != 1 {
		t.Fatalf("store counts %d, %v; want 1", n, err)
	}
	if da, db := downloaded(t, a, ih), downloaded(t, b, ih); da != 1 || db != 1 {
		t.Fatalf("downloaded A %d, B %d; want 1 on both", da, db)
	}
	// A stranger cannot take the leecher's place through another node either.
	if err := ann(t, b, ih, leecher, "127.0.5.77", 0, eventStopped); !errors.Is(err, errPeerIDInUse) {
		t.Fatalf("another address stopping the leecher on B: %v, want peer id in use", err)
	}
	// A torrent node A starts tracking (it just published it) is tracked by B at once.
	fresh := [20]byte{9, 9, 9}
	if err := a.Allow(ctx, fresh, 5000); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "node B to track a torrent node A published", func() error {
		if _, ok := b.Stats(fresh); !ok {
			return errors.New("not yet")
		}
		return nil
	})
	mustAnn(t, b, fresh, rawID("-qB4650-fresh0000001"), "127.0.5.11", 5000, eventStarted)
	if s, ok := b.Stats(fresh); !ok || s.Incomplete != 1 {
		t.Fatalf("B's swarm of the new torrent: %+v, %v", s, ok)
	}
	b.mu.Lock()
	length := b.swarms[fresh].length
	b.mu.Unlock()
	if length != 5000 {
		t.Fatalf("B tracks the new torrent with length %d, want 5000", length)
	}

	mustAnn(t, a, ih, leecher, "127.0.5.9", 0, eventStopped)
	waitUntil(t, 30*time.Second, "node B to drop the leecher stopped on node A", func() error {
		peers, err := peersOf(b, other, "127.0.5.10")
		if err != nil {
			return err
		}
		if _, ok := peers[leecher]; ok {
			return fmt.Errorf("B still hands out the leecher")
		}
		return nil
	})
}

// waitUntil polls cond until it returns nil or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A peer re-announcing with nothing new is not sent to the other nodes again until a quarter of
// the peer lifetime has passed; a change (it finished) is sent at once.
func TestMeshSendsChangesNotRepeats(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	tr := New(Config{AnnouncesPerIPPerMinute: -1, MaxDownloadRate: 1 << 40, PeerTTL: 40 * time.Minute}, nil, testLogger(t), clk.now)
	var payloads []string
	tr.SetMesh(meshFunc(func(_ context.Context, p string) error { payloads = append(payloads, p); return nil }))
	ih := [20]byte{7}
	if err := tr.Allow(context.Background(), ih, 1000); err != nil {
		t.Fatal(err)
	}
	id := rawID("-qB4650-repeat000001")
	events := func() (n int, flags []byte) {
		t.Helper()
		tr.flushMesh(context.Background())
		for _, p := range payloads {
			_, evs, err := decodeEvents(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.flags&evAllow == 0 {
					n++
					flags = append(flags, e.flags)
				}
			}
		}
		payloads = nil
		return n, flags
	}
	mustAnn(t, tr, ih, id, "127.0.5.9", 500, eventStarted)
	if n, _ := events(); n != 1 {
		t.Fatalf("first announce: %d events, want 1", n)
	}
	for range 20 {
		clk.advance(30 * time.Second)
		mustAnn(t, tr, ih, id, "127.0.5.9", 500, eventNone)
	}
	// 10 minutes of re-announces: one refresh at the quarter of the 40-minute lifetime.
	if n, _ := events(); n != 1 {
		t.Fatalf("20 unchanged re-announces over 10 min: %d events, want 1 refresh", n)
	}
	clk.advance(time.Second)
	mustAnn(t, tr, ih, id, "127.0.5.9", 0, eventCompleted)
	if n, flags := events(); n < 1 || flags[0]&evSeeder == 0 {
		t.Fatalf("completion: %d events %v, want the peer sent as a seeder", n, flags)
	}
}

// meshFunc is a Mesh of one function, here the test's own record of what was published.
type meshFunc func(context.Context, string) error

func (f meshFunc) Publish(ctx context.Context, payload string) error { return f(ctx, payload) }

// A torrent one node starts tracking is tracked by the others at once, not at the next flush:
// a seeder announces through the balancer right after publishing, to any node, and a refused
// announce is retried only a minute later. Node A's periodic flush is an hour apart, so only the
// immediate path can reach B; B takes the torrent's count from the store.
func TestMeshAllowReachesOtherNodesAtOnce(t *testing.T) {
	dsn := meshDatabase(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() (*sqldb.DB, *postgres.Mesh) {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		mesh, err := postgres.NewMesh(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mesh.Close() })
		return st, mesh
	}
	stA, meshA := open()
	a := New(Config{AnnouncesPerIPPerMinute: -1, MaxDownloadRate: 1 << 40, MeshFlush: time.Hour}, stA,
		testLogger(t).With("node", "a"), nil)
	a.SetMesh(meshA)
	go a.Run(ctx)
	stB, meshB := open()
	b := New(Config{AnnouncesPerIPPerMinute: -1, MaxDownloadRate: 1 << 40}, stB, testLogger(t).With("node", "b"), nil)
	b.SetMesh(meshB)
	go postgres.ListenMesh(ctx, dsn, b.ApplyMesh, testLogger(t))

	// A completion already in the store (as after a node's restart) is B's count.
	ih := [20]byte{9, 9, 9}
	if _, err := stA.RecordCompletion(ctx, hex.EncodeToString(ih[:]), "listener-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	// B's listener starts in the background: allow fresh torrents until one reaches B.
	waitUntil(t, 30*time.Second, "B to track a torrent A just allowed", func() error {
		probe := [20]byte{1, byte(time.Now().UnixNano())}
		if err := a.Allow(ctx, probe, 1000); err != nil {
			return err
		}
		if _, ok := b.Stats(probe); !ok {
			return errors.New("not yet")
		}
		return nil
	})
	if err := a.Allow(ctx, ih, 1000); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "B to track the torrent with the store's count", func() error {
		s, ok := b.Stats(ih)
		if !ok || s.Downloaded != 1 {
			return fmt.Errorf("B: %+v, tracked %v", s, ok)
		}
		return nil
	})
	mustAnn(t, b, ih, rawID("-qB4650-seederseeder"), "127.0.5.9", 0, eventStarted)
}

// meshDatabase is a fresh database on a throwaway PostgreSQL for the nodes of one test.
func meshDatabase(t *testing.T) string {
	t.Helper()
	srv, err := pgtest.Start()
	if errors.Is(err, pgtest.ErrNotInstalled) && os.Getenv("SEEDCAST_REQUIRE_PEERS") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv.NewDatabase(t)
}
