package tracker

// The WebTorrent tracker protocol's messages: announce (with offers), answer, scrape.

import (
	"context"
	"encoding/json"
	"net/netip"
)

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
		c.t.countAnnounce(ProtoWS, err)
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
	// The offers' targets are chosen before the reply goes out: a peer that
	// joins after this announce was answered never gets its offers.
	var to []*wsConn
	if req.event != eventStopped && len(m.Offers) > 0 {
		n := len(m.Offers)
		if m.NumWant != nil && *m.NumWant >= 0 {
			n = min(n, *m.NumWant)
		}
		to = c.t.hub.targets(ih, id, req.left == 0, n)
	}
	bih := binaryString(ih[:])
	c.reply(wsAnnounceReply{Action: "announce", Interval: int64(cfg.AnnounceInterval.Seconds()),
		InfoHash: bih, Complete: resp.stats.Complete, Incomplete: resp.stats.Incomplete})
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
