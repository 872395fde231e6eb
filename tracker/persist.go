package tracker

import (
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Peers lists every peer the tracker holds, for saving across a restart.
func (t *Tracker) Peers() []store.TrackerPeer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]store.TrackerPeer, 0, t.npeers)
	for ih, s := range t.swarms {
		h := hex.EncodeToString(ih[:])
		for id, p := range s.peers {
			out = append(out, store.TrackerPeer{InfoHash: h, PeerID: id, Addr: p.addr.String(), Seeder: p.seeder,
				WasLeecher: p.wasLeecher, Counted: p.counted, LastSeen: p.lastSeen})
		}
	}
	return out
}

// RestorePeers puts back peers saved by Peers before a restart: a download
// that started before it and completes after it is still counted, and the
// swarms are not empty until every client re-announces. Peers of torrents
// not tracked (call Allow first), expired or malformed ones are skipped; it
// reports how many were restored.
func (t *Tracker) RestorePeers(peers []store.TrackerPeer) int {
	cutoff := t.now().Add(-t.cfg.PeerTTL)
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, sp := range peers {
		b, err := hex.DecodeString(sp.InfoHash)
		if err != nil || len(b) != 20 {
			continue
		}
		s, ok := t.swarms[[20]byte(b)]
		addr, err := netip.ParseAddrPort(sp.Addr)
		if !ok || err != nil || sp.LastSeen.Before(cutoff) {
			continue
		}
		if _, dup := s.peers[sp.PeerID]; dup || t.full(s) {
			continue
		}
		s.add(sp.PeerID, &peer{addr: addr, seeder: sp.Seeder, lastSeen: sp.LastSeen,
			wasLeecher: sp.WasLeecher, counted: sp.Counted, startedAt: restoredStart(sp),
			seedOnly: sp.Seeder && !sp.WasLeecher})
		t.npeers++
		n++
	}
	return n
}

// restoredStart stands for a restored leecher's first announce, which is not
// saved: its last one, no later than the first, so it is never more plausible.
func restoredStart(sp store.TrackerPeer) time.Time {
	if !sp.WasLeecher {
		return time.Time{}
	}
	return sp.LastSeen
}
