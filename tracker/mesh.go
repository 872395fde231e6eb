package tracker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"time"
)

// Mesh carries swarm changes between the nodes of a cluster (store/postgres: LISTEN/NOTIFY, so
// no listener address is ever written to disk). Each node's tracker sends what the peers that
// announced to it did, and applies the others': a peer announced to any node is handed out by
// every node, and a download started on one node and finished on another still counts, once.
type Mesh interface {
	// Publish sends one payload (at most MeshPayloadMax bytes) to every node, this one included.
	Publish(ctx context.Context, payload string) error
}

// MeshPayloadMax bounds one payload: PostgreSQL's NOTIFY takes under 8,000 bytes.
const MeshPayloadMax = 7900

// maxOutbox bounds the changes waiting to be sent (75 bytes each); past it the oldest go, and
// their peers reach the other nodes at their next announce.
const maxOutbox = 200_000

// peerEvent is one peer as an announce left it.
type peerEvent struct {
	infoHash, peerID [20]byte
	addr             netip.AddrPort
	flags            byte
	startedAt, at    time.Time
}

const (
	evSeeder     byte = 1 << iota
	evWasLeecher      // announced with bytes left, at startedAt
	evStopped
	evCounted  // its completion was judged (counted or refused): no other node judges it again
	evDownload // not a peer update: the node counted a download of the torrent, others follow
	evAllow    // not a peer update: the node started tracking the torrent (length in startedAt)
)

const (
	meshIDLen = 16
	eventLen  = 20 + 20 + 16 + 2 + 1 + 8 + 8
)

// SetMesh makes the tracker share its swarms through m; call before Run.
func (t *Tracker) SetMesh(m Mesh) {
	t.mesh = m
	_, _ = rand.Read(t.meshID[:])
}

// queueLocked adds p's state to the changes to send; t.mu is held.
func (t *Tracker) queueLocked(ih [20]byte, p *peer, extra byte, now time.Time) {
	if t.mesh == nil {
		return
	}
	f := extra
	if p.seeder {
		f |= evSeeder
	}
	if p.wasLeecher {
		f |= evWasLeecher
	}
	if p.counted {
		f |= evCounted
	}
	// Nothing new: the others only need to hear that the peer is still there before their
	// PeerTTL runs out, so a refresh every quarter of it is enough.
	if f == p.sentFlags && p.addr == p.sentAddr && !p.sentAt.IsZero() && now.Sub(p.sentAt) < t.cfg.PeerTTL/4 {
		return
	}
	p.sentAt, p.sentFlags, p.sentAddr = now, f, p.addr
	t.pushLocked(peerEvent{infoHash: ih, peerID: p.id, addr: p.addr, flags: f, startedAt: p.startedAt, at: now})
}

func (t *Tracker) pushLocked(e peerEvent) {
	if len(t.outbox) >= maxOutbox {
		t.outbox = t.outbox[1:]
	}
	t.outbox = append(t.outbox, e)
}

// flushMesh sends the queued changes, as few payloads as fit.
func (t *Tracker) flushMesh(ctx context.Context) {
	t.mu.Lock()
	out := t.outbox
	t.outbox = nil
	t.mu.Unlock()
	perPayload := (base64.StdEncoding.DecodedLen(MeshPayloadMax) - meshIDLen) / eventLen
	for len(out) > 0 {
		n := min(len(out), perPayload)
		if err := t.mesh.Publish(ctx, t.encode(out[:n])); err != nil {
			if ctx.Err() == nil {
				t.log.Warn("tracker: sharing swarm changes with the other nodes", "events", n, "err", err)
			}
			return // the peers are sent again at their next announce
		}
		out = out[n:]
	}
}

func (t *Tracker) encode(evs []peerEvent) string {
	b := make([]byte, 0, meshIDLen+len(evs)*eventLen)
	b = append(b, t.meshID[:]...)
	for _, e := range evs {
		b = append(b, e.infoHash[:]...)
		b = append(b, e.peerID[:]...)
		ip := e.addr.Addr().As16()
		b = append(b, ip[:]...)
		b = binary.BigEndian.AppendUint16(b, e.addr.Port())
		b = append(b, e.flags)
		b = binary.BigEndian.AppendUint64(b, uint64(unixNano(e.startedAt)))
		b = binary.BigEndian.AppendUint64(b, uint64(unixNano(e.at)))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

var errBadPayload = errors.New("tracker: malformed mesh payload")

func decodeEvents(payload string) (origin [meshIDLen]byte, evs []peerEvent, err error) {
	b, err := base64.StdEncoding.DecodeString(payload)
	if err != nil || len(b) < meshIDLen || (len(b)-meshIDLen)%eventLen != 0 {
		return origin, nil, errBadPayload
	}
	copy(origin[:], b)
	for b = b[meshIDLen:]; len(b) > 0; b = b[eventLen:] {
		var e peerEvent
		copy(e.infoHash[:], b[0:20])
		copy(e.peerID[:], b[20:40])
		ip := netip.AddrFrom16([16]byte(b[40:56])).Unmap()
		e.addr = netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[56:58]))
		e.flags = b[58]
		e.startedAt = fromNano(int64(binary.BigEndian.Uint64(b[59:67])))
		e.at = fromNano(int64(binary.BigEndian.Uint64(b[67:75])))
		evs = append(evs, e)
	}
	return origin, evs, nil
}

// completionCount is infoHash's count in the store (0 without one).
func (t *Tracker) completionCount(infoHash [20]byte) (int64, error) {
	if t.store == nil {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	return t.store.CompletionCount(ctx, hex.EncodeToString(infoHash[:]))
}

// ApplyMesh applies another node's payload to the swarms; this node's own come back and are
// skipped. A remote change never overrides what binds a peer: a peer_id keeps the address that
// first announced it.
func (t *Tracker) ApplyMesh(payload string) {
	origin, evs, err := decodeEvents(payload)
	if err != nil {
		t.log.Warn("tracker: ignoring a mesh payload", "err", err)
		return
	}
	if origin == t.meshID {
		return
	}
	now := t.now()
	cutoff := now.Add(-t.cfg.PeerTTL)
	var allow []peerEvent
	defer func() {
		// Outside the lock: the torrent's count comes from the store. Its swarm exists already
		// (announces to it are answered at once); a completion counted meanwhile is in the store
		// too, so the larger of the two is the count.
		for _, e := range allow {
			count, err := t.completionCount(e.infoHash)
			if err != nil {
				t.log.Warn("tracker: the count of a torrent another node published", "err", err)
				continue
			}
			t.mu.Lock()
			if s, ok := t.swarms[e.infoHash]; ok {
				s.downloaded = max(s.downloaded, count)
			}
			t.mu.Unlock()
		}
	}()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range evs {
		s, ok := t.swarms[e.infoHash]
		if e.flags&evAllow != 0 {
			if !ok && len(allow) < 1000 {
				t.swarms[e.infoHash] = newSwarm(0, e.startedAt.UnixNano())
				allow = append(allow, e)
			}
			continue
		}
		if !ok {
			continue
		}
		if e.flags&evDownload != 0 { // a counted download, not a peer update
			s.downloaded++
			continue
		}
		p, known := s.peers[e.peerID]
		if known && p.addr.Addr() != e.addr.Addr() {
			continue
		}
		if e.flags&evStopped != 0 {
			if known {
				s.remove(e.peerID)
				t.npeers--
			}
			continue
		}
		if !known {
			if e.at.Before(cutoff) {
				continue
			}
			p = &peer{id: e.peerID, addr: e.addr, src: capPrefix(e.addr.Addr()), lastSeen: e.at,
				seedOnly: e.flags&evSeeder != 0 && e.flags&evWasLeecher == 0}
			t.makeRoom(s, p.src, now)
			s.add(e.peerID, p)
			t.npeers++
		}
		s.setSeeder(p, e.flags&evSeeder != 0)
		if e.flags&evWasLeecher != 0 && (!p.wasLeecher || e.startedAt.Before(p.startedAt)) {
			p.wasLeecher, p.startedAt = true, e.startedAt
		}
		if e.flags&evCounted != 0 {
			p.counted = true
		}
		if e.at.After(p.lastSeen) {
			p.lastSeen = e.at
			s.touch(p)
		}
	}
}
