package tracker

// Announces: what one does to its swarm, and how a completion becomes a counted download.

import (
	"context"
	"encoding/hex"
	"errors"
	"net/netip"
	"time"

	"github.com/seedcast/seedcast/store"
)

// event is an announce event, numbered as in BEP 15.
type event int32

const (
	eventNone event = iota
	eventCompleted
	eventStarted
	eventStopped
)

// announceRequest is an announce from either frontend, already validated.
type announceRequest struct {
	infoHash [20]byte
	peerID   [20]byte
	addr     netip.AddrPort // IP from the connection, port from the request
	left     int64
	event    event
	numWant  int // negative means the default
	// sameFamily limits the reply to peers of the requester's address family, for
	// UDP replies that can carry only one.
	sameFamily bool
	// ws: a WebTorrent peer announcing over WebSocket, kept in the swarm's own
	// set of those (no address to hand out, none to be handed).
	ws bool
}

type peerInfo struct {
	id   [20]byte
	addr netip.AddrPort
}

type announceResponse struct {
	interval time.Duration
	stats    Stats
	peers    []peerInfo
}

// clientError is an error whose text is safe and useful to send to a client.
type clientError string

func (e clientError) Error() string { return string(e) }

const (
	errUnknownInfoHash clientError = "unknown info hash"
	errRateLimited     clientError = "rate limited"
	errNoAddress       clientError = "cannot determine your address"
	// errPeerIDInUse: a peer_id is bound to the address that first announced it,
	// so no one else can replace or stop that peer.
	errPeerIDInUse  clientError = "peer id in use"
	errSelfAnnounce clientError = "the gateway does not announce to its own tracker"
)

// allowAnnounce charges one announce to src's rate limit and reports whether it may proceed.
func (t *Tracker) allowAnnounce(src netip.Addr) bool {
	if t.limiter.allow(src, t.now()) {
		return true
	}
	t.log.Debug("tracker: announce rate limited", "addr", src.String())
	return false
}

// announce updates the swarm with one announce and picks peers for the reply.
func (t *Tracker) announce(ctx context.Context, req announceRequest) (announceResponse, error) {
	// From here on an alias is its torrent: one swarm, one completion count, one store key.
	t.mu.Lock()
	req.infoHash = t.canonicalLocked(req.infoHash)
	t.mu.Unlock()
	now := t.now()
	completed, started, err := t.updatePeer(req, now)
	if errors.Is(err, errUnknownInfoHash) && t.mesh != nil && !req.ws {
		// In a cluster a torrent just published on another node may not have reached this one
		// yet, and a client retries a refused announce only after a minute or more: answer
		// empty (nothing is stored) and ask for the next announce soon.
		return announceResponse{interval: min(t.cfg.AnnounceInterval, unknownRetry)}, nil
	}
	if err != nil {
		return announceResponse{}, err
	}
	if started {
		t.recordStart(ctx, req, now)
	}
	if completed {
		t.recordCompletion(ctx, req, now)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.swarms[req.infoHash]
	if !ok {
		// Forgotten while we were recording the completion.
		return announceResponse{}, errUnknownInfoHash
	}
	resp := announceResponse{interval: t.cfg.AnnounceInterval, stats: s.stats()}
	if req.event != eventStopped {
		resp.peers = s.pick(req, t.numWant(req.numWant), now.Add(-t.cfg.PeerTTL))
	}
	return resp, nil
}

func (t *Tracker) numWant(n int) int {
	if n < 0 || n > t.cfg.MaxNumWant {
		return t.cfg.MaxNumWant
	}
	return n
}

// updatePeer applies req to the swarm and reports whether it completes a download
// that has to be recorded, or starts one (the peer's first announce with bytes left).
func (t *Tracker) updatePeer(req announceRequest, now time.Time) (completed, started bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sw, ok := t.swarms[req.infoHash]
	if !ok {
		return false, false, errUnknownInfoHash
	}
	self := t.self(req.addr.Addr())
	s := sw
	if req.ws {
		s = sw.webSet()
	}
	seeder := req.left == 0
	p, known := s.peers[req.peerID]
	if known && p.addr.Addr() != req.addr.Addr() {
		return false, false, errPeerIDInUse
	}
	var l listener
	if !known {
		// A newcomer may be a peer evicted (or expired) while downloading: its
		// listener's start is kept for it.
		l = listenerOf(req.addr.Addr(), req.peerID)
		p = &peer{id: req.peerID, addr: req.addr, src: capPrefix(req.addr.Addr()), seedOnly: self}
		if at, ok := s.starts[l]; ok && !self {
			p.wasLeecher, p.startedAt = true, at.first
		}
	}
	if seeder && p.wasLeecher && !p.counted && !self {
		p.counted = true
		completed = t.plausible(sw, p, req, now)
		if !known {
			delete(s.starts, l)
		}
	}
	if req.event == eventStopped {
		if known {
			if !req.ws { // a WebSocket peer is reachable only through this node
				t.queueLocked(req.infoHash, p, evStopped, now)
			}
			s.remove(req.peerID)
			t.npeers--
		}
		return completed, false, nil
	}
	if !known {
		t.makeRoom(s, p.src, now)
		s.add(req.peerID, p)
		t.npeers++
	}
	if !known && seeder && !p.wasLeecher {
		p.seedOnly = true
	}
	// A seed-only peer that starts again with bytes left is a new download, as it would be had it
	// said stopped first: aria2 announces left=0 while it fetches a magnet's metadata, then
	// event=started with the whole length under the same peer_id.
	if known && p.seedOnly && !seeder && req.event == eventStarted && !self {
		p.seedOnly = false
	}
	s.setSeeder(p, seeder)
	if !seeder && !p.wasLeecher && !p.seedOnly {
		p.wasLeecher, p.startedAt = true, now
		started = true
	}
	p.addr = req.addr
	p.lastSeen = now
	s.touch(p)
	if !req.ws {
		t.queueLocked(req.infoHash, p, 0, now)
	}
	return completed, started, nil
}

// plausible reports whether p's completion now could have moved the
// torrent's bytes: p's first announce with bytes left came at least
// length/MaxDownloadRate before. A peer_id minted to announce left>0 and then
// left=0 at once is not a download.
func (t *Tracker) plausible(s *swarm, p *peer, req announceRequest, now time.Time) bool {
	need := time.Duration(float64(s.length) / float64(t.cfg.MaxDownloadRate) * float64(time.Second))
	took := now.Sub(p.startedAt)
	if took >= need {
		return true
	}
	t.implausible++
	t.log.Debug("tracker: completion too fast to be a download, not counted", "info_hash",
		hex.EncodeToString(req.infoHash[:]), "took", took, "need", need)
	return false
}

// recordCompletion persists one plausible completion and bumps the in-memory
// count when it is a new counted download (its listener's first that UTC day).
// It runs without the lock held, as the store does I/O.
func (t *Tracker) recordCompletion(ctx context.Context, req announceRequest, now time.Time) {
	infoHash := hex.EncodeToString(req.infoHash[:])
	// The completion must not be lost because the client hung up mid-request.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	key := t.listenerKey(ctx, listenerOf(req.addr.Addr(), req.peerID), now)
	if t.store != nil {
		l := t.listen(ctx, req, store.ListenDownload, now)
		added, err := t.store.RecordCompletion(ctx, infoHash, key, now)
		if err != nil {
			t.log.Error("tracker: record completion; kept to write again", "info_hash", infoHash, "err", err)
			t.keepPending(pendingCompletion{infoHash: req.infoHash, listener: key, at: now, listen: l})
			return
		}
		if !added {
			return
		}
		t.recordListen(ctx, l)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.store == nil && !t.memCount(infoHash+key, now) {
		return
	}
	t.countedLocked(req.infoHash)
	if t.mesh != nil {
		// Whether or not the peer is still in the table (a stopped aria2 is not).
		t.pushLocked(peerEvent{infoHash: req.infoHash, peerID: req.peerID, addr: req.addr, flags: evDownload, at: now})
	}
}

func (t *Tracker) countedLocked(infoHash [20]byte) {
	if s, ok := t.swarms[infoHash]; ok {
		s.downloaded++
	}
	t.log.Debug("tracker: counted download", "info_hash", hex.EncodeToString(infoHash[:]))
}

// maxPending bounds the completions kept while the store cannot write (about
// 150 bytes each).
const maxPending = 100_000

type pendingCompletion struct {
	infoHash [20]byte
	listener string
	at       time.Time
	listen   store.Listen // its audience row, stored once the completion is
}

func (t *Tracker) keepPending(c pendingCompletion) {
	t.pendingMu.Lock()
	defer t.pendingMu.Unlock()
	if len(t.pending) >= maxPending {
		t.log.Error("tracker: too many completions waiting for the store; dropping the oldest")
		t.pending = t.pending[1:]
	}
	t.pending = append(t.pending, c)
}

// retryPending writes the kept completions, oldest first, until the store
// fails again; each counts once written (the store still dedupes it).
func (t *Tracker) retryPending(ctx context.Context) {
	t.pendingMu.Lock()
	defer t.pendingMu.Unlock()
	written := 0
	for len(t.pending) > 0 {
		c := t.pending[0]
		wctx, cancel := context.WithTimeout(ctx, storeTimeout)
		added, err := t.store.RecordCompletion(wctx, hex.EncodeToString(c.infoHash[:]), c.listener, c.at)
		cancel()
		if err != nil {
			t.log.Debug("tracker: store still cannot write completions", "waiting", len(t.pending), "err", err)
			return
		}
		t.pending = t.pending[1:]
		written++
		if added {
			lctx, cancel := context.WithTimeout(ctx, storeTimeout)
			t.recordListen(lctx, c.listen)
			cancel()
			t.mu.Lock()
			t.countedLocked(c.infoHash)
			t.mu.Unlock()
		}
	}
	if written > 0 {
		t.log.Info("tracker: kept completions written", "count", written)
	}
}

// memCount is the store's per-listener, per-day dedupe for a tracker without
// one; t.mu is held.
func (t *Tracker) memCount(key string, now time.Time) bool {
	if day := now.UTC().Format("2006-01-02"); day != t.memDay {
		t.memDay, t.memCounted = day, make(map[string]bool)
	}
	if t.memCounted[key] {
		return false
	}
	t.memCounted[key] = true
	return true
}

// pick returns up to n live peers other than the requester. A seeder gets leechers first and
// other seeders only after them: a client fetching a torrent's metadata from a magnet announces
// left=0 (aria2 1.36 does), and with leechers only it would never hear of anyone who has the
// torrent. Map order is random enough to spread load across the swarm.
func (s *swarm) pick(req announceRequest, n int, cutoff time.Time) []peerInfo {
	if n == 0 {
		return nil
	}
	seeder := req.left == 0
	out := make([]peerInfo, 0, min(n, len(s.peers)))
	var seeds []peerInfo // for a seeder, kept for after the leechers
	for id, p := range s.peers {
		if len(out) >= n {
			break
		}
		if id == req.peerID || p.addr.Port() == 0 || p.lastSeen.Before(cutoff) {
			continue
		}
		if req.sameFamily && p.addr.Addr().Is4() != req.addr.Addr().Is4() {
			continue
		}
		if seeder && p.seeder {
			if len(seeds) < n {
				seeds = append(seeds, peerInfo{id: id, addr: p.addr})
			}
			continue
		}
		out = append(out, peerInfo{id: id, addr: p.addr})
	}
	return append(out, seeds[:min(len(seeds), n-len(out))]...)
}
