// Package tracker is Seedcast's embedded BitTorrent tracker: HTTP (BEP 3, 23, 48) and
// UDP (BEP 15) announce and scrape, and the WebTorrent protocol over WebSocket (ws.go),
// for an allow-list of info hashes, with completion
// counting persisted through a Store.
package tracker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Config tunes the tracker. Zero values get the defaults documented on each field.
type Config struct {
	AnnounceInterval   time.Duration // told to clients; default 15m when zero
	PeerTTL            time.Duration // a peer not heard from for this long is expired; default 2*AnnounceInterval+1m
	MaxNumWant         int           // cap on peers returned; default 50
	MaxPeersPerTorrent int           // default 10000
	MaxPeers           int           // across all torrents; default 200000 (about 30 MB)
	// MaxPeersPerPrefix caps one source prefix (IPv4 address, IPv6 /48) in a
	// swarm; default 64. Past any cap a newcomer evicts the stalest peer (of
	// its prefix, the swarm, or the tracker), so counting never stops.
	MaxPeersPerPrefix int

	// AnnouncesPerIPPerMinute is the sustained announce rate allowed per source
	// (an IPv4 address or an IPv6 /64), HTTP and UDP together; default 120,
	// negative for no limit. Over it an announce gets "rate limited".
	AnnouncesPerIPPerMinute int
	// AnnounceBurst is how many announces a source may send at once; default 60.
	AnnounceBurst int
	// RateLimitExempt lists sources never limited. Empty by default: loopback
	// is limited too, as a reverse proxy in front would make every client loopback.
	RateLimitExempt []netip.Prefix
	// TrustedProxies are reverse proxies in front of the HTTP tracker. From
	// one of them, the peer is the nearest X-Forwarded-For address that is
	// not itself a trusted proxy; from anyone else the header is ignored, so
	// a peer cannot announce someone else's address.
	TrustedProxies []netip.Prefix
	// MaxDownloadRate (bytes/s) is the fastest download believed: a completion
	// counts only if the peer's first announce with bytes left came at least
	// size/MaxDownloadRate before. Default 125,000,000 (1 Gbit/s).
	MaxDownloadRate int64
	// SelfUserAgent is the User-Agent of the gateway's own fetches: an HTTP
	// announce carrying it is the gateway fetching its own tracker (a feed's
	// enclosure pointing at /announce) and is refused, never counted.
	SelfUserAgent string
	// WebSocket tunes the WebTorrent announce over WebSocket (see ws.go).
	WebSocket WebSocketConfig
	// MeshFlush is how often announces' changes are sent to the cluster's other nodes; default
	// 1 s. A newly tracked torrent is sent at once, whatever this is.
	MeshFlush time.Duration
	// SelfAddrs are the gateway's own nodes' addresses: their announces are never a start, a
	// download or a listener, whatever they say (its seeders also only ever seed, which never
	// counts either).
	SelfAddrs []netip.Addr
	// Locator places listeners in countries for the audience figures; nil: "unknown".
	Locator Locator
}

func (c Config) withDefaults() Config {
	if c.AnnounceInterval <= 0 {
		c.AnnounceInterval = 15 * time.Minute
	}
	if c.PeerTTL <= 0 {
		c.PeerTTL = 2*c.AnnounceInterval + time.Minute
	}
	if c.MaxNumWant <= 0 {
		c.MaxNumWant = 50
	}
	if c.MaxPeersPerTorrent <= 0 {
		c.MaxPeersPerTorrent = 10000
	}
	if c.MaxPeers <= 0 {
		c.MaxPeers = 200_000
	}
	if c.MaxPeersPerPrefix <= 0 {
		c.MaxPeersPerPrefix = 64
	}
	if c.AnnouncesPerIPPerMinute == 0 {
		c.AnnouncesPerIPPerMinute = 120
	}
	if c.AnnounceBurst <= 0 {
		c.AnnounceBurst = 60
	}
	if c.MaxDownloadRate <= 0 {
		c.MaxDownloadRate = 125_000_000
	}
	c.WebSocket = c.WebSocket.withDefaults(c.AnnounceInterval)
	if c.MeshFlush <= 0 {
		c.MeshFlush = time.Second
	}
	return c
}

// Store persists completions (store.Store); info hashes are 40-char lowercase hex.
type Store interface {
	// RecordCompletion stores one plausible completion by listener at at and reports
	// whether it was a new counted download (false when that listener had already
	// been counted for that torrent on at's UTC day).
	RecordCompletion(ctx context.Context, infoHash, listener string, at time.Time) (added bool, err error)
	// CompletionCount is the torrent's counted downloads.
	CompletionCount(ctx context.Context, infoHash string) (int64, error)
	// ListenerSalt returns day's salt of listener keys, storing fresh when it has none,
	// and deletes the salts of the days before the previous one.
	ListenerSalt(ctx context.Context, day time.Time, fresh []byte) ([]byte, error)
	// AudienceSalt, RecordListen and PruneListens keep the audience figures (store.Audience).
	AudienceSalt(ctx context.Context, at time.Time, fresh []byte) ([]byte, error)
	RecordListen(ctx context.Context, l store.Listen) (bool, error)
	PruneListens(ctx context.Context, before time.Time) (int64, error)
}

// Stats is what a scrape reports for one torrent.
type Stats struct{ Complete, Incomplete, Downloaded int64 }

// unknownRetry is the interval a cluster node gives for a torrent it does not track (yet).
const unknownRetry = 5 * time.Second

// storeTimeout bounds one store call made on behalf of a client request.
const storeTimeout = 5 * time.Second

// Tracker holds the swarms of the allowed info hashes. It is safe for concurrent use.
type Tracker struct {
	cfg   Config
	store Store
	log   *slog.Logger
	now   func() time.Time
	// udpKey keys the HMAC behind UDP connection IDs; random per process, so IDs
	// cannot be forged and do not survive a restart (clients simply reconnect).
	udpKey  []byte
	limiter *rateLimiter // nil when announces are not limited

	mu     sync.Mutex
	swarms map[[20]byte]*swarm
	// aliases maps another hash of a tracked torrent to its info hash: a hybrid's truncated v2
	// hash, announced by v2 clients, reaches the same swarm and completion count.
	aliases map[[20]byte][20]byte
	npeers  int // peers stored across all swarms, bounded by cfg.MaxPeers
	// memCounted dedupes counted downloads of the current day without a store.
	memCounted map[string]bool
	memDay     string
	// implausible counts completions refused as too fast since the start.
	implausible int64

	// pending holds counted completions the store failed to write (a full
	// disk), oldest first, for Run to write once it can; bounded by maxPending.
	pendingMu sync.Mutex
	pending   []pendingCompletion

	saltMu      sync.Mutex
	salt        daySalt
	saltUnsaved bool // salt not yet in the store: try again on the next key
	// aSalt keys the audience figures' listeners (audience.go), under saltMu too.
	aSalt        periodSalt
	aSaltUnsaved bool
	lastPrune    time.Time // only Run touches it
	// starts remembers today's recorded starts, so a listener re-announcing with fresh peer ids
	// costs the store one write a day, not one per announce.
	starts dayOnce

	// mesh shares the swarms with the cluster's other nodes (nil: one node); outbox holds the
	// changes of local announces until the next flush (under mu).
	mesh   Mesh
	meshID [meshIDLen]byte
	outbox []peerEvent
	// flushNow wakes Run to flush the outbox at once (a new torrent); one pending wake-up
	// covers any number of torrents, so a start that tracks thousands sends few payloads.
	flushNow chan struct{}

	// hub holds the WebSocket (WebTorrent) connections, to relay offers and answers.
	hub *wsHub

	counts announceCounters // announces answered, for metrics (counters.go)
}

// New returns a Tracker. st may be nil, in which case completions are counted in
// memory only. now nil means time.Now.
func New(cfg Config, st Store, log *slog.Logger, now func() time.Time) *Tracker {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key := make([]byte, 32)
	// crypto/rand.Read never returns an error (it crashes the program instead).
	_, _ = rand.Read(key)
	cfg = cfg.withDefaults()
	return &Tracker{
		cfg:      cfg,
		store:    st,
		log:      log,
		now:      now,
		udpKey:   key,
		limiter:  newRateLimiter(cfg.AnnouncesPerIPPerMinute, cfg.AnnounceBurst, cfg.RateLimitExempt),
		swarms:   make(map[[20]byte]*swarm),
		hub:      newWSHub(),
		aliases:  make(map[[20]byte][20]byte),
		flushNow: make(chan struct{}, 1),
	}
}

// Allow starts tracking infoHash, a torrent of length bytes, loading its
// completion count from the Store; announces and scrapes of any of aliases (a
// hybrid torrent's truncated v2 info hash) are those of infoHash. Allowing an
// already tracked hash only updates its length and aliases.
func (t *Tracker) Allow(ctx context.Context, infoHash [20]byte, length int64, aliases ...[20]byte) error {
	t.mu.Lock()
	for _, a := range aliases {
		if a != infoHash {
			t.aliases[a] = infoHash
		}
	}
	s, ok := t.swarms[infoHash]
	if ok {
		s.length = length
	}
	t.mu.Unlock()
	if ok {
		return nil
	}
	var count int64
	if t.store != nil {
		var err error
		count, err = t.store.CompletionCount(ctx, hex.EncodeToString(infoHash[:]))
		if err != nil {
			return fmt.Errorf("tracker: load completion count of %x: %w", infoHash, err)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.swarms[infoHash]; !ok {
		t.swarms[infoHash] = newSwarm(count, length)
		if t.mesh != nil {
			// The other nodes track it at once, not at their next reconcile or the next flush:
			// the seeder announces through the balancer right after this, to any node.
			t.pushLocked(peerEvent{infoHash: infoHash, flags: evAllow, startedAt: time.Unix(0, length), at: t.now()})
			select {
			case t.flushNow <- struct{}{}:
			default:
			}
		}
	}
	return nil
}

// Forget stops tracking infoHash and drops its peers.
func (t *Tracker) Forget(infoHash [20]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.swarms[infoHash]; ok {
		t.npeers -= len(s.peers)
		if s.ws != nil {
			t.npeers -= len(s.ws.peers)
		}
		delete(t.swarms, infoHash)
	}
	for a, ih := range t.aliases {
		if ih == infoHash {
			delete(t.aliases, a)
		}
	}
}

// canonicalLocked is the info hash ih stands for: itself, or the torrent it is an alias of.
func (t *Tracker) canonicalLocked(ih [20]byte) [20]byte {
	if c, ok := t.aliases[ih]; ok {
		return c
	}
	return ih
}

// Stats reports the scrape figures of infoHash, and false if it is not tracked.
func (t *Tracker) Stats(infoHash [20]byte) (Stats, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.swarms[infoHash]
	if !ok {
		return Stats{}, false
	}
	return s.stats(), true
}

// Seeders returns up to max seeders of infoHash, the freshest first: where a node replicating
// a torrent gets its bytes without announcing (see seedbox.Replicate). With a mesh, other
// nodes' seeders are among them.
func (t *Tracker) Seeders(infoHash [20]byte, max int) []netip.AddrPort {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.swarms[infoHash]
	if !ok {
		return nil
	}
	var out []netip.AddrPort
	for p := s.tail; p != nil && len(out) < max; p = p.prev {
		if p.seeder {
			out = append(out, p.addr)
		}
	}
	return out
}

func (s *swarm) stats() Stats {
	st := Stats{Complete: s.seeders, Incomplete: s.leechers, Downloaded: s.downloaded}
	if s.ws != nil {
		for id, p := range s.ws.peers {
			if _, both := s.peers[id]; both {
				continue // one client announcing both ways (the seeder) is one peer
			}
			if p.seeder {
				st.Complete++
			} else {
				st.Incomplete++
			}
		}
	}
	return st
}

// Run expires idle peers periodically until ctx is done.
func (t *Tracker) Run(ctx context.Context) {
	every := min(t.cfg.PeerTTL/2, time.Minute)
	every = max(every, time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var flush <-chan time.Time
	if t.mesh != nil {
		ft := time.NewTicker(t.cfg.MeshFlush)
		defer ft.Stop()
		flush = ft.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.sweep()
			t.retryPending(ctx)
			t.pruneListens(ctx)
		case <-flush:
			t.flushMesh(ctx)
		case <-t.flushNow:
			t.flushMesh(ctx)
		}
	}
}

// sweep removes every peer not heard from within PeerTTL, and the rate
// limiter's idle buckets.
func (t *Tracker) sweep() {
	now := t.now()
	t.limiter.sweep(now)
	cutoff := now.Add(-t.cfg.PeerTTL)
	t.mu.Lock()
	defer t.mu.Unlock()
	expired := 0
	for _, s := range t.swarms {
		expired += t.sweepSet(s, now, cutoff)
		if s.ws != nil {
			expired += t.sweepSet(s.ws, now, cutoff)
		}
	}
	t.npeers -= expired
	if expired > 0 {
		t.log.Debug("tracker: expired idle peers", "count", expired)
	}
}

// sweepSet removes s's peers not heard from since cutoff and returns how many; t.mu is held.
func (t *Tracker) sweepSet(s *swarm, now, cutoff time.Time) int {
	expired := 0
	for id, p := range s.peers {
		if p.lastSeen.Before(cutoff) {
			s.keepStart(p, now, t.cfg.MaxPeersPerTorrent)
			s.remove(id)
			expired++
		}
	}
	for l, st := range s.starts {
		if st.kept.Before(cutoff) {
			delete(s.starts, l)
		}
	}
	return expired
}

// full reports whether s, or the tracker, holds as many peers as it may store.
func (t *Tracker) full(s *swarm) bool {
	return len(s.peers) >= t.cfg.MaxPeersPerTorrent || t.npeers >= t.cfg.MaxPeers
}

// scrape returns the stats of the tracked hashes among infoHashes, an alias under the hash asked
// for; none means all (by info hash).
func (t *Tracker) scrape(infoHashes [][20]byte) map[[20]byte]Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[[20]byte]Stats)
	if len(infoHashes) == 0 {
		for ih, s := range t.swarms {
			out[ih] = s.stats()
		}
		return out
	}
	for _, ih := range infoHashes {
		if s, ok := t.swarms[t.canonicalLocked(ih)]; ok {
			out[ih] = s.stats()
		}
	}
	return out
}
