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

// serveWebSocket runs one WebTorrent client's connection until it closes.
func (t *Tracker) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	cfg := t.cfg.WebSocket
	remote, ok := t.clientAddr(r)
	if !ok {
		http.Error(w, "cannot determine your address", http.StatusBadRequest)
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

// wsRequest is any client message; which fields matter depends on action.
type wsRequest struct {
	Action   string          `json:"action"`
	InfoHash json.RawMessage `json:"info_hash"` // a string, or for scrape also a list
	PeerID   string          `json:"peer_id"`
	NumWant  *int            `json:"numwant"`
	Left     *json.Number    `json:"left"`
	Event    string          `json:"event"`
	Offers   []wsOffer       `json:"offers"`
	Answer   json.RawMessage `json:"answer"`
	OfferID  string          `json:"offer_id"`
	ToPeerID string          `json:"to_peer_id"`
}

type wsOffer struct {
	OfferID string          `json:"offer_id"`
	Offer   json.RawMessage `json:"offer"`
}

// wsRelay is what the tracker forwards: an offer or an answer from peer_id.
type wsRelay struct {
	Action   string          `json:"action"`
	Offer    json.RawMessage `json:"offer,omitempty"`
	Answer   json.RawMessage `json:"answer,omitempty"`
	OfferID  string          `json:"offer_id"`
	PeerID   string          `json:"peer_id"`
	InfoHash string          `json:"info_hash"`
}

type wsAnnounceReply struct {
	Action     string `json:"action"`
	Interval   int64  `json:"interval"`
	InfoHash   string `json:"info_hash"`
	Complete   int64  `json:"complete"`
	Incomplete int64  `json:"incomplete"`
}

type wsScrapeFile struct {
	Complete   int64 `json:"complete"`
	Incomplete int64 `json:"incomplete"`
	Downloaded int64 `json:"downloaded"`
}

// handle answers one message; a refused one gets a failure reason and the
// connection stays open, as with HTTP announces.
func (c *wsConn) handle(ctx context.Context, msg []byte) {
	var req wsRequest
	err := json.Unmarshal(msg, &req)
	switch {
	case err != nil:
		err = clientError("malformed message")
	case req.Action == "announce" && req.Answer != nil:
		err = c.answer(req)
	case req.Action == "announce":
		err = c.announce(ctx, req)
	case req.Action == "scrape":
		err = c.scrape(req)
	default:
		err = clientError("invalid action")
	}
	if err != nil {
		var ih string
		_ = json.Unmarshal(req.InfoHash, &ih) // a scrape's list stays ""
		c.reply(wsFailure{Action: req.Action, Reason: clientMessage(err), InfoHash: ih})
	}
}

// bind checks the message's peer_id against the connection's, binding it on first use.
func (c *wsConn) bind(s string) ([20]byte, error) {
	id, ok := binary20(s)
	if !ok {
		return id, clientError("invalid peer_id")
	}
	if !c.bound {
		c.peerID, c.bound = id, true
	}
	if id != c.peerID {
		return id, errPeerIDInUse
	}
	return id, nil
}

func (c *wsConn) announce(ctx context.Context, m wsRequest) error {
	ih, ok := jsonInfoHash(m.InfoHash)
	if !ok {
		return clientError("invalid info_hash")
	}
	id, err := c.bind(m.PeerID)
	if err != nil {
		return err
	}
	cfg := c.t.cfg.WebSocket
	if len(m.Offers) > cfg.MaxOffers {
		return clientError("too many offers")
	}
	req := announceRequest{infoHash: ih, peerID: id, addr: netip.AddrPortFrom(c.remote, 0), ws: true}
	if req.left, err = wsLeft(m.Left); err != nil {
		return err
	}
	if req.event, err = wsEvent(m.Event); err != nil {
		return err
	}
	_, joined := c.swarms[ih]
	if !joined && len(c.swarms) >= maxSwarmsPerConn {
		return clientError("too many torrents on one connection")
	}
	if req.event != eventStopped {
		if err := c.t.hub.join(ih, id, c, req.left == 0); err != nil {
			return err
		}
	} else if m := c.t.hub.member(ih, id); m != nil && m != c {
		return errPeerIDInUse // the same address, another connection: not its peer to stop
	}
	resp, err := c.t.announce(ctx, req)
	if err != nil || req.event == eventStopped {
		c.t.hub.leave(ih, id, c)
		delete(c.swarms, ih)
		if err != nil {
			return err
		}
	} else {
		c.swarms[ih] = req.left
	}
	bih := binaryString(ih[:])
	c.reply(wsAnnounceReply{Action: "announce", Interval: int64(cfg.AnnounceInterval.Seconds()),
		InfoHash: bih, Complete: resp.stats.Complete, Incomplete: resp.stats.Incomplete})
	if req.event == eventStopped || len(m.Offers) == 0 {
		return nil
	}
	n := len(m.Offers)
	if m.NumWant != nil && *m.NumWant >= 0 {
		n = min(n, *m.NumWant)
	}
	to := c.t.hub.targets(ih, id, req.left == 0, n)
	from := binaryString(id[:])
	for i, dst := range to {
		o := m.Offers[i]
		if len(o.Offer) == 0 || o.OfferID == "" {
			continue
		}
		b, err := json.Marshal(wsRelay{Action: "announce", Offer: o.Offer, OfferID: o.OfferID, PeerID: from, InfoHash: bih})
		if err != nil {
			continue
		}
		dst.enqueue(b)
	}
	return nil
}

// answer relays a WebRTC answer to the peer whose offer it answers. Only a
// member of the swarm may answer, and only to another member.
func (c *wsConn) answer(m wsRequest) error {
	ih, ok := jsonInfoHash(m.InfoHash)
	if !ok {
		return clientError("invalid info_hash")
	}
	id, err := c.bind(m.PeerID)
	if err != nil {
		return err
	}
	if c.t.hub.member(ih, id) != c {
		return errUnknownInfoHash // announce first
	}
	to, ok := binary20(m.ToPeerID)
	if !ok {
		return clientError("invalid to_peer_id")
	}
	dst := c.t.hub.member(ih, to)
	if dst == nil {
		return nil // gone since its offer: nothing to say to the answerer
	}
	b, err := json.Marshal(wsRelay{Action: "announce", Answer: m.Answer, OfferID: m.OfferID,
		PeerID: binaryString(id[:]), InfoHash: binaryString(ih[:])})
	if err != nil {
		return clientError("malformed answer")
	}
	dst.enqueue(b)
	return nil
}

// maxScrapeHashes bounds one WebSocket scrape, as UDP's packet does.
const maxScrapeHashes = 74

func (c *wsConn) scrape(m wsRequest) error {
	var hashes [][20]byte
	if len(m.InfoHash) > 0 && string(m.InfoHash) != "null" {
		var list []string
		var one string
		if json.Unmarshal(m.InfoHash, &one) == nil {
			list = []string{one}
		} else if err := json.Unmarshal(m.InfoHash, &list); err != nil {
			return clientError("invalid info_hash")
		}
		if len(list) > maxScrapeHashes {
			return clientError("too many info hashes")
		}
		for _, s := range list {
			ih, ok := binary20(s)
			if !ok {
				return clientError("invalid info_hash")
			}
			hashes = append(hashes, ih)
		}
	}
	files := make(map[string]wsScrapeFile)
	for ih, st := range c.t.scrape(hashes) {
		files[binaryString(ih[:])] = wsScrapeFile{Complete: st.Complete, Incomplete: st.Incomplete, Downloaded: st.Downloaded}
	}
	c.reply(map[string]any{"action": "scrape", "files": files})
	return nil
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

func wsLeft(n *json.Number) (int64, error) {
	if n == nil {
		return 1 << 62, nil // unknown: still downloading, as bittorrent-tracker reads it
	}
	v, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil {
			return 0, clientError("invalid left")
		}
		v = int64(f)
	}
	if v < 0 {
		v = 1 << 62
	}
	return v, nil
}

func wsEvent(s string) (event, error) {
	switch s {
	case "", "update", "paused":
		return eventNone, nil
	case "started":
		return eventStarted, nil
	case "completed":
		return eventCompleted, nil
	case "stopped":
		return eventStopped, nil
	}
	return 0, clientError("invalid event")
}

// jsonInfoHash reads an info_hash field holding one binary string.
func jsonInfoHash(raw json.RawMessage) ([20]byte, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return [20]byte{}, false
	}
	return binary20(s)
}

// binary20 decodes WebTorrent's binary string (one code point 0..255 per
// byte) of exactly 20 bytes.
func binary20(s string) ([20]byte, bool) {
	var b [20]byte
	i := 0
	for _, r := range s {
		if r > 0xff || i == len(b) {
			return b, false
		}
		b[i] = byte(r)
		i++
	}
	return b, i == len(b)
}

// binaryString is the inverse of binary20: each byte as the code point of its value.
func binaryString(b []byte) string {
	rs := make([]rune, len(b))
	for i, v := range b {
		rs[i] = rune(v)
	}
	return string(rs)
}
