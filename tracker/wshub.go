package tracker

// Which WebSocket connection speaks for which peer of which swarm.

import (
	"net/netip"
	"sync"
)

// wsHub holds the open connections and, per swarm, which connection speaks
// for which peer_id: the tracker relays offers and answers through it.
type wsHub struct {
	mu        sync.Mutex
	conns     int
	perSource map[netip.Prefix]int
	swarms    map[[20]byte]map[[20]byte]*wsMember
}

type wsMember struct {
	c      *wsConn
	seeder bool
}

func newWSHub() *wsHub {
	return &wsHub{perSource: make(map[netip.Prefix]int), swarms: make(map[[20]byte]map[[20]byte]*wsMember)}
}

// admit counts a new connection from src, or reports false past a cap.
func (h *wsHub) admit(src netip.Addr, cfg WebSocketConfig) bool {
	k := sourceKey(src)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns >= cfg.MaxConns || h.perSource[k] >= cfg.MaxConnsPerIP {
		return false
	}
	h.conns++
	h.perSource[k]++
	return true
}

func (h *wsHub) release(src netip.Addr) {
	k := sourceKey(src)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns--
	if h.perSource[k]--; h.perSource[k] <= 0 {
		delete(h.perSource, k)
	}
}

// join binds (ih, id) to c; another connection holding it is errPeerIDInUse.
func (h *wsHub) join(ih, id [20]byte, c *wsConn, seeder bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.swarms[ih]
	if m == nil {
		m = make(map[[20]byte]*wsMember)
		h.swarms[ih] = m
	}
	if old, ok := m[id]; ok && old.c != c {
		return errPeerIDInUse
	}
	m[id] = &wsMember{c: c, seeder: seeder}
	return nil
}

// leave unbinds (ih, id) if c holds it.
func (h *wsHub) leave(ih, id [20]byte, c *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.swarms[ih]
	if old, ok := m[id]; ok && old.c == c {
		delete(m, id)
		if len(m) == 0 {
			delete(h.swarms, ih)
		}
	}
}

// targets returns up to n connections of ih other than id's; a seeder's offers
// go only to leechers. An open connection is a live peer (it answers pings):
// anacrolix's client, the seeder's, announces once and never again.
func (h *wsHub) targets(ih, id [20]byte, seeder bool, n int) []*wsConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*wsConn
	for pid, m := range h.swarms[ih] { // map order spreads the offers
		if len(out) >= n {
			break
		}
		if pid == id || (seeder && m.seeder) {
			continue
		}
		out = append(out, m.c)
	}
	return out
}

// member returns the connection speaking for (ih, id), or nil.
func (h *wsHub) member(ih, id [20]byte) *wsConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m, ok := h.swarms[ih][id]; ok {
		return m.c
	}
	return nil
}
