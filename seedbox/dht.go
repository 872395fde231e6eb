package seedbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/krpc"
	peer_store "github.com/anacrolix/dht/v2/peer-store"
	alog "github.com/anacrolix/log"
	"github.com/anacrolix/torrent"
	"golang.org/x/time/rate"
)

// The seeder's DHT node (BEP 5) lives on the peer port's UDP socket: the library's uTP socket
// when uTP is on, else one of ours. We add it to the client ourselves (instead of leaving NoDHT
// off) so that, offline or with unreachable bootstrap nodes, announces wait quietly for the next
// round instead of logging a warning per torrent every five minutes, and so a seeder with uTP off
// opens a plain UDP socket rather than a uTP one nobody accepts connections from.

// configureDHT sets the client config every DHT server of the seeder is built with.
func configureDHT(tc *torrent.ClientConfig, boot *dhtBootstrap, log *slog.Logger) {
	tc.DhtStartingNodes = boot.nodes
	tc.ConfigureAnacrolixDhtServer = func(c *dht.ServerConfig) {
		// The library logs a failed bootstrap at ERROR every minute while offline: not an
		// operator's problem, since seeding goes on. dhtBootstrap says once what is wrong.
		c.Logger = alog.NewLogger("dht")
		c.Logger.SetHandlers(debugHandler{log})
		// Tokens are only handed out by a node with a peer store, and a peer needs one to
		// announce itself to us; announces of torrents we seed make the client dial the peer.
		c.PeerStore = noPeerStore{}
		// Nor does it keep strangers' BEP 44 items: the default store grows with every put.
		c.Store = noItemStore{}
		// The library's default limiter is one value shared by every server in the process.
		c.SendLimiter = rate.NewLimiter(25, 25)
	}
}

// dhtNode is the seeder's DHT servers and the UDP sockets it opened for them.
type dhtNode struct {
	servers []*dht.Server
	conns   []net.PacketConn // ours (uTP off); the library closes its uTP sockets itself
}

// startDHT runs a DHT server on each UDP socket of the peer port and hands it to the client,
// which then announces every torrent added to it (and again every 15 minutes).
// ownSockets (uTP off) opens the UDP sockets here; otherwise the DHT shares the library's uTP
// sockets. It runs right after NewClient, before any torrent is added: the client reads its DHT
// server list unlocked when it greets a peer of one of its torrents.
func startDHT(cl *torrent.Client, host string, port int, ownSockets bool, log *slog.Logger) (*dhtNode, error) {
	n := &dhtNode{}
	var pcs []net.PacketConn
	if ownSockets {
		for _, network := range udpNetworks(host) {
			pc, err := net.ListenPacket(network, net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				if network == "udp6" && peerNetwork(host) == "tcp" { // IPv6 was only a bonus
					log.Debug("dht: no IPv6 socket", "err", err)
					continue
				}
				n.close()
				return nil, fmt.Errorf("%w: dht on udp port %d: %w", ErrListen, port, err)
			}
			n.conns = append(n.conns, pc)
			pcs = append(pcs, pc)
		}
	} else {
		for _, l := range cl.Listeners() {
			if pc, ok := l.(net.PacketConn); ok {
				pcs = append(pcs, pc)
			}
		}
	}
	for _, pc := range pcs {
		s, err := cl.NewAnacrolixDhtServer(pc)
		if err != nil {
			n.close()
			return nil, fmt.Errorf("dht on %s: %w", pc.LocalAddr(), err)
		}
		n.servers = append(n.servers, s)
		cl.AddDhtServer(quietDHT{AnacrolixDhtServerWrapper: torrent.AnacrolixDhtServerWrapper{Server: s}, log: log})
		log.Info("dht node listening", "addr", pc.LocalAddr().String(), "node_id", fmt.Sprintf("%x", s.ID()))
	}
	if len(n.servers) == 0 {
		return nil, fmt.Errorf("dht: no UDP socket on port %d", port)
	}
	return n, nil
}

// udpNetworks mirrors the TCP listener: an address literal pins the family; an empty host (or a
// name) gets an IPv4 and an IPv6 socket, as the library's own uTP sockets would.
func udpNetworks(host string) []string {
	switch peerNetwork(host) {
	case "tcp4":
		return []string{"udp4"}
	case "tcp6":
		return []string{"udp6"}
	default:
		return []string{"udp4", "udp6"}
	}
}

// close stops the servers, then closes our sockets (a server whose socket closes first panics).
func (n *dhtNode) close() {
	if n == nil {
		return
	}
	for _, s := range n.servers {
		s.Close()
	}
	for _, pc := range n.conns {
		pc.Close()
	}
}

// nodes counts the nodes in the routing tables (good ones first).
func (n *dhtNode) nodes() (good, all int) {
	if n == nil {
		return 0, 0
	}
	for _, s := range n.servers {
		st := s.Stats()
		good += st.GoodNodes
		all += st.Nodes
	}
	return good, all
}

// quietDHT turns a failed announce (no node to start from) into an empty one, so the client waits
// for its next round (15 minutes) instead of logging a warning and sleeping.
type quietDHT struct {
	torrent.AnacrolixDhtServerWrapper
	log *slog.Logger
}

func (q quietDHT) Announce(hash [20]byte, port int, impliedPort bool) (torrent.DhtAnnounce, error) {
	a, err := q.AnacrolixDhtServerWrapper.Announce(hash, port, impliedPort)
	if err != nil {
		q.log.Debug("dht announce skipped until the next round", "info_hash", fmt.Sprintf("%x", hash), "err", err)
		return noPeers{}, nil
	}
	return a, nil
}

type noPeers struct{}

func (noPeers) Close() {}

func (noPeers) Peers() <-chan dht.PeersValues {
	c := make(chan dht.PeersValues)
	close(c)
	return c
}

// noPeerStore keeps no listener's address: a node that announces a torrent we seed is dialled
// by the client (OnAnnouncePeer), and others' announces are not ours to remember.
type noPeerStore struct{}

func (noPeerStore) AddPeer(peer_store.InfoHash, krpc.NodeAddr)         {}
func (noPeerStore) GetPeers(peer_store.InfoHash) (ret []krpc.NodeAddr) { return nil }

// noItemStore refuses BEP 44 puts and has nothing to get.
type noItemStore struct{}

func (noItemStore) Put(*bep44.Item) error                 { return krpc.ErrorMethodUnknown }
func (noItemStore) Get(bep44.Target) (*bep44.Item, error) { return nil, bep44.ErrItemNotFound }
func (noItemStore) Del(bep44.Target) error                { return nil }

// dhtBootstrap resolves the bootstrap host:ports a DHT server starts from while its routing table
// is empty. Every announce asks then, so a lookup is bounded and its result kept for a minute; a
// failure is logged once at INFO, not per announce.
type dhtBootstrap struct {
	hostPorts []string
	log       *slog.Logger

	mu      sync.Mutex
	at      time.Time
	addrs   []netip.AddrPort
	err     error
	failing bool
}

const (
	bootstrapLookupTimeout = 10 * time.Second
	bootstrapCacheFor      = time.Minute
)

func newDHTBootstrap(hostPorts []string, log *slog.Logger) (*dhtBootstrap, error) {
	for _, hp := range hostPorts {
		host, port, err := net.SplitHostPort(hp)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || host == "" || n < 1 || n > 65535 {
			return nil, fmt.Errorf("dht bootstrap node %q is not host:port", hp)
		}
	}
	return &dhtBootstrap{hostPorts: hostPorts, log: log}, nil
}

// nodes is the client's DhtStartingNodes: the bootstrap addresses of network's family.
func (b *dhtBootstrap) nodes(network string) dht.StartingNodesGetter {
	return func() ([]dht.Addr, error) {
		all, err := b.resolve()
		if err != nil {
			return nil, err
		}
		var out []dht.Addr
		for _, ap := range all {
			if (network == "udp4" && !ap.Addr().Is4()) || (network == "udp6" && ap.Addr().Is4()) {
				continue
			}
			out = append(out, dht.NewAddr(net.UDPAddrFromAddrPort(ap)))
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no %s address among the dht bootstrap nodes", network)
		}
		return out, nil
	}
}

func (b *dhtBootstrap) resolve() ([]netip.AddrPort, error) {
	if len(b.hostPorts) == 0 {
		return nil, errors.New("no dht bootstrap nodes configured")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.at.IsZero() && time.Since(b.at) < bootstrapCacheFor {
		return b.addrs, b.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), bootstrapLookupTimeout)
	defer cancel()
	var addrs []netip.AddrPort
	var errs []string
	for _, hp := range b.hostPorts {
		host, portStr, _ := net.SplitHostPort(hp) // checked by newDHTBootstrap
		port, _ := strconv.Atoi(portStr)
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		for _, ip := range ips {
			addrs = append(addrs, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
		}
	}
	b.at, b.addrs, b.err = time.Now(), addrs, nil
	if len(addrs) == 0 {
		b.err = fmt.Errorf("no dht bootstrap node resolved: %s", strings.Join(errs, "; "))
	}
	switch {
	case b.err != nil && !b.failing:
		b.log.Info("dht bootstrap nodes not resolved; the node waits for peers to contact it", "err", b.err)
	case b.err == nil && b.failing:
		b.log.Info("dht bootstrap nodes resolved", "addrs", len(addrs))
	}
	b.failing = b.err != nil
	return b.addrs, b.err
}

// debugHandler logs the DHT library's messages at DEBUG, whatever level it gave them.
type debugHandler struct{ log *slog.Logger }

func (h debugHandler) Handle(r alog.Record) {
	if !h.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	h.log.Debug(r.Msg.String(), "names", r.Names)
}
