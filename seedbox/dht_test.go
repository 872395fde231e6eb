package seedbox

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/int160"
	"github.com/anacrolix/dht/v2/krpc"
	peer_store "github.com/anacrolix/dht/v2/peer-store"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

type announced struct {
	ih   metainfo.Hash
	ip   net.IP
	port int
}

// dhtRouter is an independent DHT node on loopback (anacrolix's server, not the seeder's code)
// that reports every announce_peer it accepts.
func dhtRouter(t *testing.T) (addr string, got <-chan announced) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan announced, 16)
	cfg := dht.NewDefaultServerConfig()
	cfg.Conn = pc
	cfg.StartingNodes = nil // the router knows nobody: nothing leaves the machine
	cfg.PeerStore = &peer_store.InMemory{}
	cfg.OnAnnouncePeer = func(ih metainfo.Hash, ip net.IP, port int, portOk bool) {
		if portOk {
			ch <- announced{ih, ip, port}
		}
	}
	s, err := dht.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return pc.LocalAddr().String(), ch
}

// recordHandler keeps every log record, for checking what the seeder said.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordHandler) find(f func(slog.Record) bool) (slog.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(h.records, f)
	if i < 0 {
		return slog.Record{}, false
	}
	return h.records[i], true
}

func newDHTSeeder(t *testing.T, disableUTP bool, boot []string, h slog.Handler) *Seeder {
	t.Helper()
	s, err := NewSeeder(SeederConfig{
		ListenAddr:   "127.0.0.1:0",
		StateDir:     t.TempDir(),
		DisableUTP:   disableUTP,
		DHT:          true,
		DHTBootstrap: boot,
	}, slog.New(h))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A seeded torrent is announced to the DHT with the port peers connect to, whether the UDP socket
// is the library's uTP socket or the seeder's own.
func TestDHTAnnouncesSeededTorrents(t *testing.T) {
	for _, disableUTP := range []bool{true, false} {
		t.Run("disable_utp="+strconv.FormatBool(disableUTP), func(t *testing.T) {
			router, got := dhtRouter(t)
			s := newDHTSeeder(t, disableUTP, []string{router}, slog.DiscardHandler)
			eps := []episode{newEpisode(t, t.TempDir(), 300<<10, nil), newEpisode(t, t.TempDir(), 200<<10, nil)}
			want := map[metainfo.Hash]bool{}
			for _, ep := range eps {
				if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
					t.Fatal(err)
				}
				want[ep.mi.HashInfoBytes()] = true
			}
			timeout := time.After(30 * time.Second)
			for len(want) > 0 {
				select {
				case a := <-got:
					if !want[a.ih] {
						continue
					}
					if !a.ip.IsLoopback() || a.port != s.ListenPort() {
						t.Fatalf("announced %s at %s:%d, want 127.0.0.1:%d", a.ih.HexString(), a.ip, a.port, s.ListenPort())
					}
					delete(want, a.ih)
				case <-timeout:
					t.Fatalf("not announced to the DHT: %v", want)
				}
			}
			if good, _ := s.dht.nodes(); good < 1 {
				t.Errorf("seeder's routing table has %d good nodes, want the router", good)
			}
		})
	}
}

// A leecher that knows only the seeder's DHT node and a btih-only magnet finds the seeder (it
// announces itself to the seeder's node, which makes the seeder dial it), fetches the metadata
// and completes.
func TestDHTMagnetWithoutTracker(t *testing.T) {
	s := newDHTSeeder(t, true, []string{}, slog.DiscardHandler)
	ep := newEpisode(t, t.TempDir(), 700<<10, nil)
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	seederNode := "127.0.0.1:" + strconv.Itoa(s.ListenPort())

	cfg := leecherConfig(t)
	cfg.NoDHT = false
	cfg.DhtStartingNodes = func(string) dht.StartingNodesGetter {
		return func() ([]dht.Addr, error) {
			a, err := net.ResolveUDPAddr("udp4", seederNode)
			return []dht.Addr{dht.NewAddr(a)}, err
		}
	}
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	tor, err := cl.AddMagnet("magnet:?xt=urn:btih:" + ep.mi.HashInfoBytes().HexString())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	select {
	case <-tor.GotInfo():
	case <-ctx.Done():
		t.Fatal("no metadata through the DHT")
	}
	tor.DownloadAll()
	select {
	case <-tor.Complete().On():
	case <-ctx.Done():
		t.Fatalf("leecher did not complete: %d of %d bytes", tor.BytesCompleted(), tor.Length())
	}
	if tor.Info().Name != "Episode One.mp3" {
		t.Errorf("name %q", tor.Info().Name)
	}
}

// With no bootstrap node, or one that never answers, the seeder starts, seeds, and logs nothing
// at WARN or above about the DHT.
func TestDHTUnreachableBootstrapIsQuiet(t *testing.T) {
	for name, boot := range map[string][]string{"none": {}, "silent": {"127.0.0.1:9"}} {
		t.Run(name, func(t *testing.T) {
			h := &recordHandler{}
			s := newDHTSeeder(t, true, boot, h)
			ep := newEpisode(t, t.TempDir(), 100<<10, nil)
			if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
				t.Fatal(err)
			}
			// Wait until the DHT has tried: the announce gave up (no node) or its queries to the
			// silent node timed out.
			deadline := time.Now().Add(30 * time.Second)
			for {
				tried := false
				if name == "none" {
					_, tried = h.find(func(r slog.Record) bool { return strings.HasPrefix(r.Message, "dht announce skipped") })
				} else {
					st := s.dht.servers[0].Stats()
					tried = st.OutboundQueriesAttempted > 0 && st.OutstandingTransactions == 0
				}
				if tried {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the DHT never tried to announce")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if r, bad := h.find(func(r slog.Record) bool { return r.Level >= slog.LevelWarn }); bad {
				t.Errorf("logged %s %q", r.Level, r.Message)
			}
			if got := len(s.Stats().Torrents); got != 1 {
				t.Errorf("seeding %d torrents, want 1", got)
			}
		})
	}
}

// The seeder's DHT node hands out tokens and accepts announces, but keeps no stranger's address:
// a get_peers after an announce returns no peers, where a node that stores them (the control, a
// plain anacrolix node with a peer store) returns the announced one.
func TestDHTKeepsNoListenerAddresses(t *testing.T) {
	s := newDHTSeeder(t, true, []string{}, slog.DiscardHandler)
	c := plainDHTNode(t, nil)
	control := plainDHTNode(t, &mapPeerStore{peers: map[peer_store.InfoHash][]krpc.NodeAddr{}})
	if n := announceThenAsk(t, c, control.Addr().(*net.UDPAddr)); n == 0 {
		t.Fatal("control: a storing node gave out no peer; the probe proves nothing")
	}
	if n := announceThenAsk(t, c, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.ListenPort()}); n != 0 {
		t.Errorf("the seeder's node gave out %d peers", n)
	}
}

func plainDHTNode(t *testing.T, ps peer_store.Interface) *dht.Server {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := dht.NewDefaultServerConfig()
	cfg.Conn, cfg.StartingNodes, cfg.PeerStore = pc, nil, ps
	s, err := dht.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// announceThenAsk announces port 7777 for an info hash to the node at to, then asks it for peers
// of that hash (a few times: nodes store announces off the reply path) and returns how many it
// gave.
func announceThenAsk(t *testing.T, c *dht.Server, to *net.UDPAddr) int {
	t.Helper()
	node := dht.NewAddr(to)
	ih := krpc.ID{1, 2, 3, 4, 5}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	r := c.GetPeers(ctx, node, int160.FromByteArray(ih), false, dht.QueryRateLimiting{})
	if r.Err != nil || r.Reply.R == nil || r.Reply.R.Token == nil {
		t.Fatalf("get_peers to %s: %v, reply %+v: want a token", to, r.Err, r.Reply.R)
	}
	port := 7777
	a := c.Query(ctx, node, "announce_peer", dht.QueryInput{MsgArgs: krpc.MsgArgs{
		ID: c.ID(), InfoHash: ih, Port: &port, Token: *r.Reply.R.Token}})
	if a.ToError() != nil {
		t.Fatalf("announce_peer to %s refused: %v", to, a.ToError())
	}
	for range 10 {
		r = c.GetPeers(ctx, node, int160.FromByteArray(ih), false, dht.QueryRateLimiting{})
		if r.Err != nil || r.Reply.R == nil {
			t.Fatalf("get_peers to %s after the announce: %v", to, r.Err)
		}
		if n := len(r.Reply.R.Values); n > 0 {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0
}

// mapPeerStore is the simplest peer store that works (the library's InMemory gave no peer back
// in this probe, v2.23.0).
type mapPeerStore struct {
	mu    sync.Mutex
	peers map[peer_store.InfoHash][]krpc.NodeAddr
}

func (m *mapPeerStore) AddPeer(ih peer_store.InfoHash, a krpc.NodeAddr) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.peers[ih] = append(m.peers[ih], a)
}

func (m *mapPeerStore) GetPeers(ih peer_store.InfoHash) []krpc.NodeAddr {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.peers[ih])
}
