package tracker

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/netip"
	"runtime"
	"runtime/debug"
	"time"
)

// BEP 15 wire constants.
const (
	udpProtocolID = 0x41727101980

	actionConnect  = 0
	actionAnnounce = 1
	actionScrape   = 2
	actionError    = 3

	udpHeaderLen   = 16
	udpAnnounceLen = 98
	// udpMaxScrape is how many hashes fit one scrape reply in a typical MTU.
	udpMaxScrape = 74
	// connIDBucket is the lifetime unit of a connection ID; the current and the
	// previous two buckets are accepted.
	connIDBucket = time.Minute
)

// ServeUDP answers BEP 15 requests on conn until ctx is done, then returns nil.
// It does not close conn. Replies to IPv4 sources carry IPv4 peers, replies to
// IPv6 sources IPv6 peers.
func (t *Tracker) ServeUDP(ctx context.Context, conn net.PacketConn) error {
	// Unblock ReadFrom when ctx is done without closing a conn we do not own.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	// Several readers on one socket: packets are independent, the tracker's
	// state is locked, and one slow packet (a completion written to the
	// store) no longer holds up the rest.
	readers := max(2, runtime.NumCPU())
	errs := make(chan error, readers)
	for range readers {
		go func() { errs <- t.serveUDPPackets(ctx, conn) }()
	}
	var first error
	for range readers {
		if err := <-errs; err != nil && first == nil {
			first = err
			_ = conn.SetReadDeadline(time.Unix(1, 0)) // stop the other readers too
		}
	}
	return first
}

func (t *Tracker) serveUDPPackets(ctx context.Context, conn net.PacketConn) error {
	buf := make([]byte, 2048)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tracker: udp read: %w", err)
		}
		src, ok := addrPortOf(from)
		if !ok {
			continue
		}
		reply := t.handleUDPSafely(ctx, buf[:n], src)
		if reply == nil {
			continue
		}
		if _, err := conn.WriteTo(reply, from); err != nil {
			t.log.Debug("tracker: udp write", "addr", from.String(), "err", err)
		}
	}
}

// handleUDPSafely is handleUDP that drops a packet it panics on instead of
// taking the daemon down, as net/http does for a handler. The fuzz targets are
// what keep this from ever running.
func (t *Tracker) handleUDPSafely(ctx context.Context, pkt []byte, src netip.AddrPort) (reply []byte) {
	defer func() {
		if v := recover(); v != nil {
			t.log.Error("tracker: udp packet caused a panic", "addr", src.String(), "packet", hex.EncodeToString(pkt),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			reply = nil
		}
	}()
	return t.handleUDP(ctx, pkt, src)
}

func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	if ua, ok := a.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), ap.IsValid()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// handleUDP returns the reply to one packet from src, or nil to drop it. Replies
// that are not proof of a valid connection ID are never larger than the request,
// so the tracker cannot be used to amplify spoofed traffic.
func (t *Tracker) handleUDP(ctx context.Context, pkt []byte, src netip.AddrPort) []byte {
	if len(pkt) < udpHeaderLen {
		return nil
	}
	connID := pkt[0:8]
	action := binary.BigEndian.Uint32(pkt[8:12])
	txID := pkt[12:16]
	switch action {
	case actionConnect:
		if binary.BigEndian.Uint64(connID) != udpProtocolID {
			return nil
		}
		id := t.connectionID(src, t.now().Unix()/int64(connIDBucket.Seconds()))
		reply := udpReplyHeader(actionConnect, txID)
		return append(reply, id[:]...)
	case actionAnnounce:
		if len(pkt) < udpAnnounceLen {
			return nil
		}
		if !t.validConnectionID(connID, src) {
			return udpError(txID, "invalid connection id")
		}
		// Charged only after the connection ID proves src is real, so spoofed
		// packets can neither use up someone else's budget nor add buckets.
		if !t.allowAnnounce(src.Addr()) {
			t.countAnnounce(ProtoUDP, errRateLimited)
			return udpError(txID, string(errRateLimited))
		}
		return t.udpAnnounce(ctx, pkt, txID, src)
	case actionScrape:
		if len(pkt) < udpHeaderLen+20 {
			return nil
		}
		if !t.validConnectionID(connID, src) {
			return udpError(txID, "invalid connection id")
		}
		return t.udpScrape(pkt, txID)
	default:
		return nil
	}
}

func (t *Tracker) udpAnnounce(ctx context.Context, pkt, txID []byte, src netip.AddrPort) []byte {
	req, port, err := parseUDPAnnounce(pkt)
	if err != nil {
		t.countAnnounce(ProtoUDP, err)
		return udpError(txID, clientMessage(err))
	}
	req.addr = netip.AddrPortFrom(src.Addr(), port)
	req.sameFamily = true
	resp, err := t.announce(ctx, req)
	t.countAnnounce(ProtoUDP, err)
	if err != nil {
		return udpError(txID, clientMessage(err))
	}
	reply := udpReplyHeader(actionAnnounce, txID)
	reply = binary.BigEndian.AppendUint32(reply, uint32(min(resp.interval/time.Second, math.MaxInt32)))
	reply = binary.BigEndian.AppendUint32(reply, clampInt32(resp.stats.Incomplete))
	reply = binary.BigEndian.AppendUint32(reply, clampInt32(resp.stats.Complete))
	for _, p := range resp.peers {
		reply = appendCompact(reply, p.addr)
	}
	return reply
}

// parseUDPAnnounce decodes a BEP 15 announce of at least udpAnnounceLen bytes; the
// address is left for the caller. Trailing BEP 41 options are ignored.
func parseUDPAnnounce(pkt []byte) (announceRequest, uint16, error) {
	if len(pkt) < udpAnnounceLen {
		return announceRequest{}, 0, clientError("short announce")
	}
	var req announceRequest
	copy(req.infoHash[:], pkt[16:36])
	copy(req.peerID[:], pkt[36:56])
	req.left = int64(binary.BigEndian.Uint64(pkt[64:72]))
	if req.left < 0 {
		// Clients announce -1 when they do not know the size yet: still downloading.
		req.left = math.MaxInt64
	}
	ev := binary.BigEndian.Uint32(pkt[80:84])
	if ev > uint32(eventStopped) {
		return announceRequest{}, 0, clientError("invalid event")
	}
	req.event = event(ev)
	// The IP field (84:88) is ignored: the source address is used instead.
	req.numWant = int(max(int32(binary.BigEndian.Uint32(pkt[92:96])), -1))
	port := binary.BigEndian.Uint16(pkt[96:98])
	return req, port, nil
}

func (t *Tracker) udpScrape(pkt, txID []byte) []byte {
	body := pkt[udpHeaderLen:]
	n := min(len(body)/20, udpMaxScrape)
	hashes := make([][20]byte, n)
	for i := range hashes {
		copy(hashes[i][:], body[i*20:])
	}
	stats := t.scrape(hashes)
	reply := udpReplyHeader(actionScrape, txID)
	// Results are positional, so hashes we do not track are answered with zeros.
	for _, ih := range hashes {
		st := stats[ih]
		reply = binary.BigEndian.AppendUint32(reply, clampInt32(st.Complete))
		reply = binary.BigEndian.AppendUint32(reply, clampInt32(st.Downloaded))
		reply = binary.BigEndian.AppendUint32(reply, clampInt32(st.Incomplete))
	}
	return reply
}

// connectionID binds an ID to the client address and a time bucket, so it cannot
// be forged or replayed from another address, and expires without server state.
func (t *Tracker) connectionID(src netip.AddrPort, bucket int64) [8]byte {
	var msg [8 + 16 + 2]byte
	binary.BigEndian.PutUint64(msg[0:8], uint64(bucket))
	a := src.Addr().Unmap().As16()
	copy(msg[8:24], a[:])
	binary.BigEndian.PutUint16(msg[24:26], src.Port())
	m := hmac.New(sha256.New, t.udpKey)
	m.Write(msg[:])
	var id [8]byte
	copy(id[:], m.Sum(nil))
	return id
}

func (t *Tracker) validConnectionID(got []byte, src netip.AddrPort) bool {
	bucket := t.now().Unix() / int64(connIDBucket.Seconds())
	for i := range int64(3) {
		want := t.connectionID(src, bucket-i)
		if hmac.Equal(got, want[:]) {
			return true
		}
	}
	return false
}

func udpReplyHeader(action uint32, txID []byte) []byte {
	b := make([]byte, 0, 64)
	b = binary.BigEndian.AppendUint32(b, action)
	return append(b, txID...)
}

func udpError(txID []byte, msg string) []byte {
	return append(udpReplyHeader(actionError, txID), msg...)
}

func clampInt32(n int64) uint32 {
	return uint32(min(max(n, 0), math.MaxInt32))
}
