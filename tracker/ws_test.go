package tracker

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// browserPeer is the browser side of the WebTorrent tracker protocol, written
// here as a plain WebSocket client sending what bittorrent-tracker's client sends.
type browserPeer struct {
	t    *testing.T
	conn *websocket.Conn
	id   [20]byte
}

func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/announce" }

func dialBrowser(t *testing.T, base, id string, header http.Header) *browserPeer {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(base), header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", wsURL(base), err, status)
	}
	t.Cleanup(func() { conn.Close() })
	var pid [20]byte
	copy(pid[:], "-WW0300-"+id)
	return &browserPeer{t: t, conn: conn, id: pid}
}

func (b *browserPeer) send(v any) {
	b.t.Helper()
	if err := b.conn.WriteJSON(v); err != nil {
		b.t.Fatal(err)
	}
}

// recv reads the next message, failing after a deadline.
func (b *browserPeer) recv() map[string]any {
	b.t.Helper()
	_ = b.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m map[string]any
	if err := b.conn.ReadJSON(&m); err != nil {
		b.t.Fatalf("read: %v", err)
	}
	return m
}

func (b *browserPeer) announce(ih [20]byte, left int64, event string, offers ...map[string]any) map[string]any {
	b.t.Helper()
	msg := map[string]any{"action": "announce", "info_hash": binaryString(ih[:]), "peer_id": binaryString(b.id[:]),
		"numwant": len(offers), "uploaded": 0, "downloaded": 0, "left": left}
	if event != "" {
		msg["event"] = event
	}
	if offers != nil {
		msg["offers"] = offers
	}
	b.send(msg)
	return b.recv()
}

func offer(id, sdp string) map[string]any {
	return map[string]any{"offer_id": id, "offer": map[string]any{"type": "offer", "sdp": sdp}}
}

func wantReply(t *testing.T, m map[string]any, complete, incomplete float64) {
	t.Helper()
	if m["action"] != "announce" || m["failure reason"] != nil || m["complete"] != complete || m["incomplete"] != incomplete {
		t.Fatalf("reply %v, want complete %v incomplete %v", m, complete, incomplete)
	}
	if m["interval"] == nil || m["info_hash"] != binaryString(hashA[:]) {
		t.Fatalf("reply %v lacks interval or info_hash", m)
	}
}

func TestWebSocketRelaysOffersAndAnswers(t *testing.T) {
	_, base := newTestTracker(t, Config{}, nil, nil)
	a := dialBrowser(t, base, "aaaaaaaaaaaa", nil)
	b := dialBrowser(t, base, "bbbbbbbbbbbb", nil)

	wantReply(t, a.announce(hashA, 1000, "started", offer("offerA1", "sdp-a")), 0, 1)
	// b's offers reach a (the only other peer), not b itself.
	wantReply(t, b.announce(hashA, 1000, "started", offer("offerB1", "sdp-b1"), offer("offerB2", "sdp-b2")), 0, 2)
	got := a.recv()
	sdp := got["offer"].(map[string]any)["sdp"]
	if got["action"] != "announce" || got["peer_id"] != binaryString(b.id[:]) ||
		got["info_hash"] != binaryString(hashA[:]) || got["offer_id"] != "offerB1" || sdp != "sdp-b1" {
		t.Fatalf("relayed offer %v", got)
	}

	a.send(map[string]any{"action": "announce", "info_hash": binaryString(hashA[:]), "peer_id": binaryString(a.id[:]),
		"to_peer_id": binaryString(b.id[:]), "offer_id": "offerB1", "answer": map[string]any{"type": "answer", "sdp": "sdp-ans"}})
	got = b.recv()
	if got["peer_id"] != binaryString(a.id[:]) || got["offer_id"] != "offerB1" ||
		got["answer"].(map[string]any)["sdp"] != "sdp-ans" || got["info_hash"] != binaryString(hashA[:]) {
		t.Fatalf("relayed answer %v", got)
	}
	// An answer is not answered, so the next message b sees is its own announce reply.
	wantReply(t, b.announce(hashA, 0, "completed"), 1, 1)
}

func TestWebSocketCountsBrowserDownloadOnce(t *testing.T) {
	tr, base := newTestTracker(t, Config{}, nil, nil)
	if err := tr.Allow(t.Context(), hashA, 1000); err != nil {
		t.Fatal(err)
	}
	a := dialBrowser(t, base, "aaaaaaaaaaaa", nil)
	wantReply(t, a.announce(hashA, 1000, "started"), 0, 1)
	wantReply(t, a.announce(hashA, 0, "completed"), 1, 0)
	// The same listener (address and -WW family) again the same day: not a second download.
	a2 := dialBrowser(t, base, "cccccccccccc", nil)
	wantReply(t, a2.announce(hashA, 1000, "started"), 1, 1)
	wantReply(t, a2.announce(hashA, 0, "completed"), 2, 0)

	a.send(map[string]any{"action": "scrape", "info_hash": binaryString(hashA[:])})
	got := a.recv()
	file := got["files"].(map[string]any)[binaryString(hashA[:])].(map[string]any)
	if got["action"] != "scrape" || file["downloaded"] != 1.0 || file["complete"] != 2.0 {
		t.Fatalf("scrape %v, want 1 download and 2 seeders", got)
	}
	// A peer that hangs up leaves the swarm; its download stays counted.
	a.conn.Close()
	waitFor(t, 5*time.Second, func() bool { s, _ := tr.Stats(hashA); return s.Complete == 1 })
	if s, _ := tr.Stats(hashA); s.Downloaded != 1 {
		t.Fatalf("stats %+v after hang-up", s)
	}
}

func TestWebSocketSeederAnnouncingBothWaysIsOnePeer(t *testing.T) {
	tr, base := newTestTracker(t, Config{}, nil, nil)
	a := dialBrowser(t, base, "aaaaaaaaaaaa", nil)
	a.id = peerID("seeder") // the seeder's one peer_id, over HTTP and WebSocket
	announceHTTP(t, base, hashA, "seeder", 6881, 0, 0)
	wantReply(t, a.announce(hashA, 0, ""), 1, 0)
	if s, _ := tr.Stats(hashA); s.Complete != 1 {
		t.Fatalf("stats %+v, want the seeder once", s)
	}
	// Its WebSocket side never replaced its address: HTTP peers still get its port.
	resp := announceHTTP(t, base, hashA, "leecher-http", 6882, 10, 0)
	if len(resp.Peers) != 1 || resp.Peers[0].Port != 6881 {
		t.Fatalf("HTTP peers %v, want the seeder's TCP port", resp.Peers)
	}
}

func TestWebSocketRefusals(t *testing.T) {
	_, base := newTestTracker(t, Config{WebSocket: WebSocketConfig{MaxOffers: 2}}, nil, nil)
	a := dialBrowser(t, base, "aaaaaaaaaaaa", nil)

	failure := func(m map[string]any, want string) {
		t.Helper()
		if m["failure reason"] != want {
			t.Fatalf("reply %v, want failure %q", m, want)
		}
	}
	failure(a.announce(hashU, 1000, "started"), "unknown info hash")
	failure(a.announce(hashA, 1000, "", offer("1", "x"), offer("2", "x"), offer("3", "x")), "too many offers")
	a.send(map[string]any{"action": "announce", "info_hash": "short", "peer_id": binaryString(a.id[:])})
	failure(a.recv(), "invalid info_hash")
	a.send(map[string]any{"action": "dance"})
	failure(a.recv(), "invalid action")
	if err := a.conn.WriteMessage(websocket.TextMessage, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	failure(a.recv(), "malformed message")

	// One peer_id per connection, and a peer_id belongs to its connection.
	wantReply(t, a.announce(hashA, 1000, ""), 0, 1)
	other := a.id
	other[19]++
	a.send(map[string]any{"action": "announce", "info_hash": binaryString(hashA[:]), "peer_id": binaryString(other[:]), "left": 1})
	failure(a.recv(), "peer id in use")
	thief := dialBrowser(t, base, "zzzzzzzzzzzz", nil)
	thief.id = a.id
	failure(thief.announce(hashA, 0, "stopped"), "peer id in use")
	// Answering without having announced to that swarm is refused.
	thief2 := dialBrowser(t, base, "yyyyyyyyyyyy", nil)
	thief2.send(map[string]any{"action": "announce", "info_hash": binaryString(hashA[:]), "peer_id": binaryString(thief2.id[:]),
		"to_peer_id": binaryString(a.id[:]), "offer_id": "x", "answer": map[string]any{"type": "answer", "sdp": "evil"}})
	failure(thief2.recv(), "unknown info hash")
}

func TestWebSocketOversizedMessageCloses(t *testing.T) {
	_, base := newTestTracker(t, Config{WebSocket: WebSocketConfig{MaxMessageBytes: 1024}}, nil, nil)
	a := dialBrowser(t, base, "aaaaaaaaaaaa", nil)
	big := offer("1", strings.Repeat("x", 2048))
	a.send(map[string]any{"action": "announce", "info_hash": binaryString(hashA[:]), "peer_id": binaryString(a.id[:]),
		"left": 1, "offers": []any{big}})
	_ = a.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := a.conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("read after oversized message: %v, want close 1009", err)
	}
}

func TestWebSocketRateLimitAndConnectionCaps(t *testing.T) {
	// A connection and each message take one announce of the source's budget.
	_, base := newTestTracker(t, Config{AnnouncesPerIPPerMinute: 1, AnnounceBurst: 3}, nil, nil)
	a := dialBrowser(t, base, "aaaaaaaaaaaa", nil)
	wantReply(t, a.announce(hashA, 1000, "started"), 0, 1)
	wantReply(t, a.announce(hashA, 1000, ""), 0, 1)
	if m := a.announce(hashA, 1000, ""); m["failure reason"] != "rate limited" {
		t.Fatalf("third announce %v, want rate limited", m)
	}
	_, resp, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(base), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("connection over the budget: err %v, want 429", err)
	}

	_, base = newTestTracker(t, Config{WebSocket: WebSocketConfig{MaxConnsPerIP: 2}}, nil, nil)
	b := dialBrowser(t, base, "bbbbbbbbbbbb", nil)
	dialBrowser(t, base, "cccccccccccc", nil)
	_, resp, err = websocket.DefaultDialer.DialContext(t.Context(), wsURL(base), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection from one address: err %v, want 503", err)
	}
	// A closed connection frees its place.
	b.conn.Close()
	waitFor(t, 5*time.Second, func() bool {
		c, _, err := websocket.DefaultDialer.DialContext(t.Context(), wsURL(base), nil)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func TestWebSocketTrustedProxyAddress(t *testing.T) {
	tr, base := newTestTracker(t, Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, nil, nil)
	if err := tr.Allow(t.Context(), hashA, 1000); err != nil {
		t.Fatal(err)
	}
	// Two listeners behind the proxy are two downloads; each address is its own.
	for i, xff := range []string{"127.5.5.1", "127.5.5.2"} {
		p := dialBrowser(t, base, "listener"+string(rune('a'+i))+"xxx", http.Header{"X-Forwarded-For": {xff}})
		p.announce(hashA, 1000, "started")
		p.announce(hashA, 0, "completed")
	}
	if s, _ := tr.Stats(hashA); s.Downloaded != 2 {
		t.Fatalf("stats %+v, want two listeners counted", s)
	}
}

func TestBinaryStringRoundTrip(t *testing.T) {
	var b [20]byte
	for i := range b {
		b[i] = byte(i * 13)
	}
	enc, _ := json.Marshal(binaryString(b[:]))
	var s string
	if err := json.Unmarshal(enc, &s); err != nil {
		t.Fatal(err)
	}
	if got, ok := binary20(s); !ok || got != b {
		t.Fatalf("round trip %x, want %x", got, b)
	}
	if _, ok := binary20(s + "x"); ok {
		t.Fatal("21 bytes accepted")
	}
	if _, ok := binary20(strings.Repeat("\u0100", 20)); ok {
		t.Fatal("code point over 255 accepted")
	}
}

func TestWebSocketSilentPeerDropped(t *testing.T) {
	tr, base := newTestTracker(t, Config{WebSocket: WebSocketConfig{PingInterval: 50 * time.Millisecond}}, nil, nil)
	a := dialBrowser(t, base, "aaaaaaaaaaaa", nil)
	wantReply(t, a.announce(hashA, 1000, "started"), 0, 1)
	// a no longer reads, so it never answers the pings: the tracker hangs up on it.
	waitFor(t, 5*time.Second, func() bool { s, _ := tr.Stats(hashA); return s.Incomplete == 0 })
}

func TestWebSocketPeerBehindOnWritesDropped(t *testing.T) {
	tr, base := newTestTracker(t, Config{WebSocket: WebSocketConfig{MaxQueuedBytes: 1000}}, nil, nil)
	a := dialBrowser(t, base, "aaaaaaaaaaaa", nil)
	b := dialBrowser(t, base, "bbbbbbbbbbbb", nil)
	wantReply(t, a.announce(hashA, 1000, "started"), 0, 1)
	// b's offer to a would put more than MaxQueuedBytes in a's queue: a is dropped
	// rather than the tracker holding its backlog.
	wantReply(t, b.announce(hashA, 1000, "started", offer("big", strings.Repeat("x", 1200))), 0, 2)
	waitFor(t, 5*time.Second, func() bool { s, _ := tr.Stats(hashA); return s.Incomplete == 1 })
	_ = a.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := a.conn.ReadMessage(); err == nil {
		t.Fatal("the dropped peer still reads messages")
	}
}
