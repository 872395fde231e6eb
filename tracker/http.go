package tracker

import (
	"errors"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/anacrolix/torrent/bencode"
	"github.com/gorilla/websocket"
)

// AnnounceHandler serves GET /announce (BEP 3), with compact peers by default
// (BEP 23) and IPv6 peers in peers6 (BEP 7); a WebSocket upgrade there speaks
// the WebTorrent tracker protocol (ws.go). The peer's IP is taken from the
// connection (or a trusted proxy's X-Forwarded-For), never from the query.
func (t *Tracker) AnnounceHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethod(w, r) {
			return
		}
		if t.cfg.SelfUserAgent != "" && r.UserAgent() == t.cfg.SelfUserAgent {
			writeFailure(w, string(errSelfAnnounce))
			return
		}
		if websocket.IsWebSocketUpgrade(r) {
			t.serveWebSocket(w, r) // WebTorrent clients (ws.go)
			return
		}
		remote, ok := t.clientAddr(r)
		if !ok {
			t.countAnnounce(ProtoHTTP, errNoAddress)
			writeFailure(w, string(errNoAddress))
			return
		}
		// Charged before parsing, so malformed floods are limited too.
		if !t.allowAnnounce(remote) {
			t.countAnnounce(ProtoHTTP, errRateLimited)
			writeFailure(w, string(errRateLimited))
			return
		}
		q, err := parseAnnounce(r.URL.RawQuery)
		if err != nil {
			t.countAnnounce(ProtoHTTP, err)
			writeFailure(w, err.Error())
			return
		}
		q.req.addr = netip.AddrPortFrom(remote, q.port)
		resp, err := t.announce(r.Context(), q.req)
		t.countAnnounce(ProtoHTTP, err)
		if err != nil {
			writeFailure(w, clientMessage(err))
			return
		}
		writeBencode(w, httpAnnounceBody(resp, q.compact))
	})
}

// clientAddr is the announcing peer's address: the connection's, or, when
// the connection comes from a trusted proxy, the rightmost X-Forwarded-For
// entry that is not a trusted proxy too (entries left of it were written by
// the client and prove nothing).
func (t *Tracker) clientAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	addr := ap.Addr().Unmap()
	if !t.trustedProxy(addr) {
		return addr, true
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		a, err := netip.ParseAddr(hop)
		if err != nil {
			withPort, perr := netip.ParseAddrPort(hop) // some proxies add the client's port
			if perr != nil {
				return netip.Addr{}, false
			}
			a = withPort.Addr()
		}
		addr = a.Unmap()
		if !t.trustedProxy(addr) {
			return addr, true
		}
	}
	return addr, true // proxies all the way: the proxy itself announced
}

func (t *Tracker) trustedProxy(a netip.Addr) bool { return inPrefixes(t.cfg.TrustedProxies, a) }

// ScrapeHandler serves GET /scrape (BEP 48) for any number of info_hash parameters;
// with none it reports every tracked torrent. Hashes not tracked are left out.
func (t *Tracker) ScrapeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowMethod(w, r) {
			return
		}
		hashes, err := parseScrape(r.URL.RawQuery)
		if err != nil {
			writeFailure(w, err.Error())
			return
		}
		files := make(map[string]httpScrapeFile)
		for ih, st := range t.scrape(hashes) {
			files[string(ih[:])] = httpScrapeFile{
				Complete:   st.Complete,
				Downloaded: st.Downloaded,
				Incomplete: st.Incomplete,
			}
		}
		writeBencode(w, map[string]any{"files": files})
	})
}

type httpScrapeFile struct {
	Complete   int64 `bencode:"complete"`
	Downloaded int64 `bencode:"downloaded"`
	Incomplete int64 `bencode:"incomplete"`
}

type httpPeer struct {
	IP   string `bencode:"ip"`
	Port uint16 `bencode:"port"`
}

// announceQuery is a parsed HTTP announce; req.addr is filled in from the connection.
type announceQuery struct {
	req      announceRequest
	port     uint16
	compact  bool
	noPeerID bool
}

// parseAnnounce parses the raw query of an HTTP announce. Its errors are clientErrors.
func parseAnnounce(rawQuery string) (announceQuery, error) {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return announceQuery{}, clientError("malformed query")
	}
	var q announceQuery
	if q.req.infoHash, err = hash20(vals, "info_hash"); err != nil {
		return announceQuery{}, err
	}
	if q.req.peerID, err = hash20(vals, "peer_id"); err != nil {
		return announceQuery{}, err
	}
	port, err := strconv.ParseUint(vals.Get("port"), 10, 16)
	if err != nil {
		return announceQuery{}, clientError("missing or invalid port")
	}
	q.port = uint16(port)
	left, err := strconv.ParseInt(vals.Get("left"), 10, 64)
	if err != nil {
		return announceQuery{}, clientError("missing or invalid left")
	}
	if left < 0 {
		// Some clients send -1 while they do not know the size yet: still downloading.
		left = math.MaxInt64
	}
	q.req.left = left
	switch vals.Get("event") {
	case "", "empty", "paused":
		// "paused" (BEP 21) is a regular announce for our purposes.
		q.req.event = eventNone
	case "started":
		q.req.event = eventStarted
	case "completed":
		q.req.event = eventCompleted
	case "stopped":
		q.req.event = eventStopped
	default:
		return announceQuery{}, clientError("invalid event")
	}
	q.req.numWant = -1
	if s := vals.Get("numwant"); s != "" {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return announceQuery{}, clientError("invalid numwant")
		}
		q.req.numWant = int(max(n, -1))
	}
	q.compact = vals.Get("compact") != "0"
	q.noPeerID = vals.Get("no_peer_id") == "1"
	return q, nil
}

// parseScrape returns the info hashes of an HTTP scrape query. Its errors are clientErrors.
func parseScrape(rawQuery string) ([][20]byte, error) {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, clientError("malformed query")
	}
	var out [][20]byte
	for _, v := range vals["info_hash"] {
		if len(v) != 20 {
			return nil, clientError("invalid info_hash")
		}
		out = append(out, [20]byte([]byte(v)))
	}
	return out, nil
}

func hash20(vals url.Values, key string) ([20]byte, error) {
	v := vals[key]
	if len(v) != 1 || len(v[0]) != 20 {
		return [20]byte{}, clientError("missing or invalid " + key)
	}
	return [20]byte([]byte(v[0])), nil
}

func httpAnnounceBody(resp announceResponse, compact bool) map[string]any {
	body := map[string]any{
		"interval":   int64(resp.interval.Seconds()),
		"complete":   resp.stats.Complete,
		"incomplete": resp.stats.Incomplete,
	}
	if !compact {
		list := make([]httpPeer, 0, len(resp.peers))
		for _, p := range resp.peers {
			// Peer ids are never shown (even without no_peer_id): clients do not
			// need them, and they would let anyone act as another peer.
			list = append(list, httpPeer{IP: p.addr.Addr().String(), Port: p.addr.Port()})
		}
		body["peers"] = list
		return body
	}
	var v4, v6 []byte
	for _, p := range resp.peers {
		if p.addr.Addr().Is4() {
			v4 = appendCompact(v4, p.addr)
		} else {
			v6 = appendCompact(v6, p.addr)
		}
	}
	body["peers"] = string(v4)
	if len(v6) > 0 {
		body["peers6"] = string(v6)
	}
	return body
}

// appendCompact appends the BEP 23 form of addr: 4 or 16 address bytes, then the port.
func appendCompact(b []byte, addr netip.AddrPort) []byte {
	b = append(b, addr.Addr().AsSlice()...)
	return append(b, byte(addr.Port()>>8), byte(addr.Port()))
}

// clientMessage is the text a client may see for err.
func clientMessage(err error) string {
	var ce clientError
	if errors.As(err, &ce) {
		return string(ce)
	}
	return "internal error"
}

func allowMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// writeFailure answers with a bencoded failure reason; status 200 is what clients expect.
func writeFailure(w http.ResponseWriter, reason string) {
	writeBencode(w, map[string]any{"failure reason": reason})
}

func writeBencode(w http.ResponseWriter, v any) {
	b, err := bencode.Marshal(v)
	if err != nil {
		// Only our own fixed types are marshalled, so this cannot happen.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// ClientAddr is the requester's address as the tracker sees it: behind a trusted proxy, the
// forwarded one. Other endpoints rate-limit by it too.
func (t *Tracker) ClientAddr(r *http.Request) (netip.Addr, bool) { return t.clientAddr(r) }
