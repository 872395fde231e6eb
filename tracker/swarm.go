package tracker

import (
	"net/netip"
	"time"
)

type swarm struct {
	peers      map[[20]byte]*peer // keyed by peer_id
	seeders    int64
	leechers   int64
	downloaded int64 // in-memory mirror of Store.CompletionCount
	length     int64 // the torrent's total size, for the plausibility of a completion

	// head (stalest) to tail (freshest): the order peers are evicted in.
	head, tail *peer
	perPrefix  map[netip.Prefix]int // peers per capPrefix
	// starts keeps, for a listener whose downloading peer was evicted or
	// expired, when it started: its completion from a peer not in the table
	// still counts. Bounded by MaxPeersPerTorrent entries.
	starts map[listener]start
	// ws is the set of WebSocket (WebTorrent) peers, nil until one announces.
	// Only its peer fields are used; the counts of downloads live here.
	ws *swarm
}

type start struct {
	first time.Time // the peer's first announce with bytes left
	kept  time.Time // when the peer left the table; dropped a PeerTTL later
}

type peer struct {
	id       [20]byte
	addr     netip.AddrPort
	src      netip.Prefix // capPrefix of addr, fixed as a peer_id keeps its IP
	seeder   bool
	lastSeen time.Time
	// wasLeecher is set once the peer announced left>0: only such a peer can
	// complete, no sooner than length/MaxDownloadRate after startedAt, that announce.
	wasLeecher bool
	startedAt  time.Time
	// seedOnly is a peer whose first announce said left=0: it never counts, even if it later
	// announces bytes left (a seeder re-checking its pieces, the gateway's own included).
	seedOnly bool
	// counted avoids asking the store again for a peer already counted in this session.
	counted bool
	// sentAt and sentFlags are what this node last told the others of the peer (see Mesh): a
	// re-announce that changes nothing is sent only as a refresh, a few times per peer lifetime.
	sentAt     time.Time
	sentFlags  byte
	sentAddr   netip.AddrPort
	prev, next *peer
}

func newSwarm(downloaded, length int64) *swarm {
	return &swarm{peers: make(map[[20]byte]*peer), downloaded: downloaded, length: length,
		perPrefix: make(map[netip.Prefix]int), starts: make(map[listener]start)}
}

// webSet returns s's set of WebSocket peers, making it on first use.
func (s *swarm) webSet() *swarm {
	if s.ws == nil {
		s.ws = newSwarm(0, s.length)
	}
	return s.ws
}

// capPrefix is the source a swarm's per-prefix cap applies to: an IPv4
// address or an IPv6 /48 (a site's usual allocation).
func capPrefix(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(48)
	return p
}

// add stores a peer new to s and counts it; the tracker's npeers is the caller's.
func (s *swarm) add(id [20]byte, p *peer) {
	p.id = id
	if !p.src.IsValid() {
		p.src = capPrefix(p.addr.Addr())
	}
	s.peers[id] = p
	s.perPrefix[p.src]++
	s.pushBack(p)
	if p.seeder {
		s.seeders++
	} else {
		s.leechers++
	}
}

func (s *swarm) remove(id [20]byte) {
	p, ok := s.peers[id]
	if !ok {
		return
	}
	if p.seeder {
		s.seeders--
	} else {
		s.leechers--
	}
	s.unlink(p)
	if s.perPrefix[p.src]--; s.perPrefix[p.src] <= 0 {
		delete(s.perPrefix, p.src)
	}
	delete(s.peers, id)
}

// setSeeder moves a stored peer between the seeder and leecher counts.
func (s *swarm) setSeeder(p *peer, seeder bool) {
	if p.seeder == seeder {
		return
	}
	if seeder {
		s.leechers--
		s.seeders++
	} else {
		s.seeders--
		s.leechers++
	}
	p.seeder = seeder
}

// touch marks p as just heard from.
func (s *swarm) touch(p *peer) {
	s.unlink(p)
	s.pushBack(p)
}

func (s *swarm) pushBack(p *peer) {
	p.prev, p.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = p
	} else {
		s.head = p
	}
	s.tail = p
}

func (s *swarm) unlink(p *peer) {
	if p.prev != nil {
		p.prev.next = p.next
	} else if s.head == p {
		s.head = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else if s.tail == p {
		s.tail = p.prev
	}
	p.prev, p.next = nil, nil
}

// keepStart remembers a downloading peer's start as it leaves the table.
func (s *swarm) keepStart(p *peer, now time.Time, max int) {
	if !p.wasLeecher || p.counted || p.seeder {
		return
	}
	l := listenerOf(p.addr.Addr(), p.id)
	if old, ok := s.starts[l]; ok && old.first.Before(p.startedAt) {
		s.starts[l] = start{first: old.first, kept: now}
		return
	}
	if len(s.starts) >= max {
		for k := range s.starts { // any one: map order is random enough
			delete(s.starts, k)
			break
		}
	}
	s.starts[l] = start{first: p.startedAt, kept: now}
}

// makeRoom evicts a peer when a newcomer from src would pass a cap: the
// stalest of src's peers in s, else the stalest of s, else (tracker full) the
// stalest of s or, if s is empty, of the biggest swarm. t.mu is held.
func (t *Tracker) makeRoom(s *swarm, src netip.Prefix, now time.Time) {
	switch {
	case s.perPrefix[src] >= t.cfg.MaxPeersPerPrefix:
		for p := s.head; p != nil; p = p.next {
			if p.src == src {
				t.evict(s, p, now)
				return
			}
		}
	case len(s.peers) >= t.cfg.MaxPeersPerTorrent:
		t.evict(s, s.head, now)
	case t.npeers >= t.cfg.MaxPeers:
		victim := s
		if s.head == nil {
			for _, o := range t.swarms {
				if len(o.peers) > len(victim.peers) {
					victim = o
				}
			}
		}
		t.evict(victim, victim.head, now)
	}
}

func (t *Tracker) evict(s *swarm, p *peer, now time.Time) {
	if p == nil {
		return
	}
	s.keepStart(p, now, t.cfg.MaxPeersPerTorrent)
	s.remove(p.id)
	t.npeers--
}
