package tracker

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// WebSocketConfig tunes the WebTorrent tracker protocol: JSON messages over a
// WebSocket at /announce, as bittorrent-tracker's server speaks it. Browsers
// have no address to hand out, so the tracker relays their WebRTC offers and
// answers instead of listing peers. Zero values get the documented defaults.
type WebSocketConfig struct {
	// AnnounceInterval is told to WebSocket clients; default a fifth of the
	// tracker's (bittorrent-tracker's ratio), as offers go stale quickly.
	AnnounceInterval time.Duration
	MaxConns         int   // open connections overall; default 4096
	MaxConnsPerIP    int   // per source (IPv4 address, IPv6 /64); default 16
	MaxMessageBytes  int64 // a bigger message closes the connection; default 64 KiB
	MaxOffers        int   // offers relayed per announce; default 10
	// PingInterval is how often a connection is pinged; one silent for two of
	// them (no message, no pong) is closed. Default 30s.
	PingInterval time.Duration
	// MaxQueuedBytes bounds what waits to be written to one connection; a peer
	// reading slower than that is dropped. Default 256 KiB.
	MaxQueuedBytes int64
}

func (c WebSocketConfig) withDefaults(interval time.Duration) WebSocketConfig {
	if c.AnnounceInterval <= 0 {
		c.AnnounceInterval = max(interval/5, time.Second)
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 4096
	}
	if c.MaxConnsPerIP <= 0 {
		c.MaxConnsPerIP = 16
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 64 << 10
	}
	if c.MaxOffers <= 0 {
		c.MaxOffers = 10
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = 256 << 10
	}
	return c
}

// maxSwarmsPerConn bounds the torrents one connection announces (a browser
// client uses one connection per tracker for all its torrents).
const maxSwarmsPerConn = 256

// writeTimeout bounds one write to a WebSocket peer.
const writeTimeout = 10 * time.Second

// serveWebSocket runs one WebTorrent client's connection until it closes.
func (t *Tracker) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	cfg := t.cfg.WebSocket
	remote, ok := t.clientAddr(r)
	if !ok {
		http.Error(w, "cannot determine your address", http.StatusBadRequest)
		return
	}
	// A connection costs an announce of the source's budget, so reconnecting in a
	// loop is limited like announcing in one.
	if !t.allowAnnounce(remote) {
		t.countAnnounce(ProtoWS, errRateLimited)
		http.Error(w, string(errRateLimited), http.StatusTooManyRequests)
		return
	}
	if !t.hub.admit(remote, cfg) {
		t.log.Debug("tracker: websocket refused, too many connections", "addr", remote.String())
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	defer t.hub.release(remote)
	up := websocket.Upgrader{
		ReadBufferSize: 4096, WriteBufferSize: 4096,
		// Any page may use the tracker, as with HTTP announces; no cookie or
		// credential rides on the connection, so there is nothing to forge.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	c := &wsConn{t: t, conn: conn, remote: remote, send: make(chan []byte, 64),
		done: make(chan struct{}), swarms: make(map[[20]byte]int64)}
	go c.writeLoop(cfg.PingInterval)
	c.readLoop(r.Context(), cfg)
	c.close()
	c.leaveAll(r.Context())
}

// wsConn is one WebSocket client. Its read loop owns peerID and swarms.
type wsConn struct {
	t      *Tracker
	conn   *websocket.Conn
	remote netip.Addr
	send   chan []byte
	queued atomic.Int64
	done   chan struct{}
	once   sync.Once

	peerID [20]byte
	bound  bool               // peerID is set: one peer_id per connection
	swarms map[[20]byte]int64 // swarms joined, with the peer's last left
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.conn.Close()
	})
}

// enqueue queues one message, dropping the connection when it is too far behind.
func (c *wsConn) enqueue(b []byte) {
	if c.queued.Add(int64(len(b))) > c.t.cfg.WebSocket.MaxQueuedBytes {
		c.t.log.Debug("tracker: websocket peer too slow, dropped", "addr", c.remote.String())
		c.close()
		return
	}
	select {
	case c.send <- b:
	case <-c.done:
	default:
		c.close()
	}
}

func (c *wsConn) writeLoop(ping time.Duration) {
	tick := time.NewTicker(ping)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case b := <-c.send:
			c.queued.Add(-int64(len(b)))
			_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				c.close()
				return
			}
		case <-tick.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				c.close()
				return
			}
		}
	}
}

func (c *wsConn) readLoop(ctx context.Context, cfg WebSocketConfig) {
	c.conn.SetReadLimit(cfg.MaxMessageBytes) // past it gorilla closes with 1009
	alive := func() { _ = c.conn.SetReadDeadline(time.Now().Add(2 * cfg.PingInterval)) }
	alive()
	c.conn.SetPongHandler(func(string) error { alive(); return nil })
	for {
		kind, msg, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		alive()
		if kind != websocket.TextMessage {
			continue
		}
		// Charged before parsing, so malformed floods are limited too.
		if !c.t.allowAnnounce(c.remote) {
			c.t.countAnnounce(ProtoWS, errRateLimited)
			c.reply(wsFailure{Action: "announce", Reason: string(errRateLimited)})
			continue
		}
		c.handle(ctx, msg)
	}
}

type wsFailure struct {
	Action   string `json:"action,omitempty"`
	Reason   string `json:"failure reason"`
	InfoHash string `json:"info_hash,omitempty"`
}

func (c *wsConn) reply(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return // only our own types: cannot happen
	}
	c.enqueue(b)
}

// leaveAll stops the connection's peer in every swarm it joined, as a client
// that hangs up is gone (its completion, if this was one, still counts).
func (c *wsConn) leaveAll(ctx context.Context) {
	for ih, left := range c.swarms {
		c.t.hub.leave(ih, c.peerID, c)
		req := announceRequest{infoHash: ih, peerID: c.peerID, addr: netip.AddrPortFrom(c.remote, 0),
			left: left, event: eventStopped, ws: true}
		if _, err := c.t.announce(ctx, req); err != nil && !errors.Is(err, errUnknownInfoHash) {
			c.t.log.Debug("tracker: websocket peer leaving", "err", err)
		}
	}
}
