package tracker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	anatracker "github.com/anacrolix/torrent/tracker"
	"github.com/anacrolix/torrent/tracker/udp"
	"github.com/anacrolix/torrent/types/infohash"

	"github.com/seedcast/seedcast/store"
)

// serveUDP runs tr on a fresh socket at network/addr and checks at cleanup that
// ServeUDP returns nil once its context is cancelled.
func serveUDP(t *testing.T, tr *Tracker, network, addr string) net.Addr {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("listen %s %s: %v", network, addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.ServeUDP(ctx, pc) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeUDP: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ServeUDP did not return after cancel")
		}
		pc.Close()
	})
	return pc.LocalAddr()
}

func newUDPTracker(t *testing.T, st Store, now func() time.Time) (*Tracker, net.Addr) {
	t.Helper()
	tr := New(Config{}, st, testLogger(t), now)
	for _, ih := range [][20]byte{hashA, hashB} {
		if err := tr.Allow(t.Context(), ih, 0); err != nil {
			t.Fatal(err)
		}
	}
	return tr, serveUDP(t, tr, "udp4", "127.0.0.1:0")
}

func loopbackListener(network, local string) func(string, string) (net.PacketConn, error) {
	return func(string, string) (net.PacketConn, error) { return net.ListenPacket(network, local) }
}

func announceUDP(t *testing.T, addr net.Addr, ih [20]byte, id string, port uint16, left int64, ev anatracker.AnnounceEvent) (anatracker.AnnounceResponse, error) {
	t.Helper()
	return anatracker.Announce{
		TrackerUrl:   "udp://" + addr.String() + "/announce",
		Context:      t.Context(),
		ListenPacket: loopbackListener("udp4", "127.0.0.1:0"),
		Request:      clientAnnounce(ih, id, port, left, ev),
	}.Do()
}

func mustAnnounceUDP(t *testing.T, addr net.Addr, ih [20]byte, id string, port uint16, left int64, ev anatracker.AnnounceEvent) anatracker.AnnounceResponse {
	t.Helper()
	resp, err := announceUDP(t, addr, ih, id, port, left, ev)
	if err != nil {
		t.Fatalf("udp announce %s: %v", id, err)
	}
	return resp
}

func TestUDPAnnounce(t *testing.T) {
	_, addr := newUDPTracker(t, nil, nil)
	first := mustAnnounceUDP(t, addr, hashA, "a", 7001, 10, anatracker.Started)
	if len(first.Peers) != 0 || first.Interval != 900 || first.Leechers != 1 {
		t.Fatalf("first = %+v", first)
	}
	resp := mustAnnounceUDP(t, addr, hashA, "b", 7002, 0, anatracker.Started)
	if len(resp.Peers) != 1 || resp.Peers[0].IP.String() != "127.0.0.1" || resp.Peers[0].Port != 7001 {
		t.Fatalf("peers = %v, want [127.0.0.1:7001]", resp.Peers)
	}
	if resp.Seeders != 1 || resp.Leechers != 1 {
		t.Fatalf("seeders %d leechers %d", resp.Seeders, resp.Leechers)
	}
}

func TestUDPCompletion(t *testing.T) {
	st := openStore(t)
	tr, addr := newUDPTracker(t, st, nil)
	mustAnnounceUDP(t, addr, hashA, "seed", 7001, 0, anatracker.Started)
	mustAnnounceUDP(t, addr, hashA, "seed", 7001, 0, anatracker.Completed)
	mustAnnounceUDP(t, addr, hashA, "leech", 7002, 10, anatracker.Started)
	mustAnnounceUDP(t, addr, hashA, "leech", 7002, 0, anatracker.Stopped)
	wantStats(t, tr, hashA, Stats{Complete: 1, Downloaded: 1})
}

func TestUDPUnknownHash(t *testing.T) {
	_, addr := newUDPTracker(t, nil, nil)
	_, err := announceUDP(t, addr, hashU, "a", 7001, 10, anatracker.Started)
	var er udp.ErrorResponse
	if !errors.As(err, &er) || er.Message != "unknown info hash" {
		t.Fatalf("err = %v, want error response \"unknown info hash\"", err)
	}
}

func TestUDPScrape(t *testing.T) {
	tr, addr := newUDPTracker(t, openStore(t), nil)
	hashes := make([]infohash.T, udpMaxScrape)
	for i := range hashes {
		hashes[i] = infohash.T{0x5c, byte(i)}
		if err := tr.Allow(t.Context(), hashes[i], 0); err != nil {
			t.Fatal(err)
		}
	}
	hashes[3] = hashU
	last := hashes[len(hashes)-1]
	mustAnnounceUDP(t, addr, last, "l", 7001, 10, anatracker.Started)
	mustAnnounceUDP(t, addr, last, "s", 7002, 0, anatracker.Started)
	mustAnnounceUDP(t, addr, last, "d", 7003, 10, anatracker.Started)
	mustAnnounceUDP(t, addr, last, "d", 7003, 0, anatracker.Stopped)

	cl, err := anatracker.NewClient("udp://"+addr.String()+"/announce", anatracker.NewClientOpts{
		ListenPacket: loopbackListener("udp4", "127.0.0.1:0"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	res, err := cl.Scrape(t.Context(), hashes)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != udpMaxScrape {
		t.Fatalf("got %d results, want %d", len(res), udpMaxScrape)
	}
	if r := res[len(res)-1]; r.Seeders != 1 || r.Leechers != 1 || r.Completed != 1 {
		t.Fatalf("last = %+v, want 1/1/1", r)
	}
	if r := res[3]; r != (udp.ScrapeInfohashResult{}) {
		t.Fatalf("unknown hash = %+v, want zeros", r)
	}
}

// rawUDP is a bare BEP 15 client for requests the anacrolix client will not send.
type rawUDP struct {
	t      *testing.T
	conn   net.PacketConn
	server net.Addr
}

func newRawUDP(t *testing.T, server net.Addr) *rawUDP {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawUDP{t: t, conn: conn, server: server}
}

func (c *rawUDP) send(pkt []byte) {
	c.t.Helper()
	if _, err := c.conn.WriteTo(pkt, c.server); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawUDP) recv() []byte {
	c.t.Helper()
	buf := make([]byte, 2048)
	if err := c.conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		c.t.Fatal(err)
	}
	n, _, err := c.conn.ReadFrom(buf)
	if err != nil {
		c.t.Fatal(err)
	}
	return buf[:n]
}

func udpRequest(connID uint64, action, txID uint32, body []byte) []byte {
	b := binary.BigEndian.AppendUint64(nil, connID)
	b = binary.BigEndian.AppendUint32(b, action)
	b = binary.BigEndian.AppendUint32(b, txID)
	return append(b, body...)
}

func (c *rawUDP) connect(txID uint32) uint64 {
	c.t.Helper()
	c.send(udpRequest(udpProtocolID, actionConnect, txID, nil))
	r := c.recv()
	if len(r) != 16 || binary.BigEndian.Uint32(r[0:4]) != actionConnect || binary.BigEndian.Uint32(r[4:8]) != txID {
		c.t.Fatalf("connect reply %x", r)
	}
	return binary.BigEndian.Uint64(r[8:16])
}

func announceBody(ih [20]byte, id string, left int64, ev event, port uint16) []byte {
	pid := peerID(id)
	b := append(append([]byte(nil), ih[:]...), pid[:]...)
	b = binary.BigEndian.AppendUint64(b, 0) // downloaded
	b = binary.BigEndian.AppendUint64(b, uint64(left))
	b = binary.BigEndian.AppendUint64(b, 0) // uploaded
	b = binary.BigEndian.AppendUint32(b, uint32(ev))
	b = binary.BigEndian.AppendUint32(b, 0)          // ip
	b = binary.BigEndian.AppendUint32(b, 0)          // key
	b = binary.BigEndian.AppendUint32(b, 0xffffffff) // num_want -1
	return binary.BigEndian.AppendUint16(b, port)
}

func wantUDPError(t *testing.T, r []byte, txID uint32, msg string) {
	t.Helper()
	if len(r) < 8 || binary.BigEndian.Uint32(r[0:4]) != actionError || binary.BigEndian.Uint32(r[4:8]) != txID {
		t.Fatalf("reply %x, want error for tx %d", r, txID)
	}
	if got := string(r[8:]); got != msg {
		t.Fatalf("error message %q, want %q", got, msg)
	}
}

func TestUDPForgedConnectionIDRejected(t *testing.T) {
	tr, addr := newUDPTracker(t, nil, nil)
	c := newRawUDP(t, addr)
	body := announceBody(hashA, "a", 10, eventStarted, 7001)

	c.send(udpRequest(0x1234567890abcdef, actionAnnounce, 1, body))
	wantUDPError(t, c.recv(), 1, "invalid connection id")
	c.send(udpRequest(udpProtocolID, actionScrape, 2, hashA[:]))
	wantUDPError(t, c.recv(), 2, "invalid connection id")

	// An ID issued to one address is worthless from another.
	other := newRawUDP(t, addr)
	stolen := other.connect(3)
	c.send(udpRequest(stolen, actionAnnounce, 4, body))
	wantUDPError(t, c.recv(), 4, "invalid connection id")
	if st, _ := tr.Stats(hashA); st.Incomplete != 0 {
		t.Fatalf("rejected announces changed the swarm: %+v", st)
	}

	id := c.connect(5)
	c.send(udpRequest(id, actionAnnounce, 6, body))
	r := c.recv()
	if len(r) != 20 || binary.BigEndian.Uint32(r[0:4]) != actionAnnounce {
		t.Fatalf("announce reply %x", r)
	}
	wantStats(t, tr, hashA, Stats{Incomplete: 1})
}

func TestUDPConnectionIDExpires(t *testing.T) {
	clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	_, addr := newUDPTracker(t, nil, clk.now)
	c := newRawUDP(t, addr)
	id := c.connect(1)
	scrape := udpRequest(id, actionScrape, 2, hashA[:])

	clk.advance(3*time.Minute - time.Second) // two buckets later: still accepted
	c.send(scrape)
	if r := c.recv(); binary.BigEndian.Uint32(r[0:4]) != actionScrape || len(r) != 8+12 {
		t.Fatalf("scrape reply %x", r)
	}
	clk.advance(time.Second)
	c.send(scrape)
	wantUDPError(t, c.recv(), 2, "invalid connection id")
}

func TestUDPDropsMalformed(t *testing.T) {
	_, addr := newUDPTracker(t, nil, nil)
	c := newRawUDP(t, addr)
	id := c.connect(1)
	junk := [][]byte{
		{},
		{1, 2, 3},
		udpRequest(0xdead, actionConnect, 10, nil),                                // wrong protocol id
		udpRequest(id, 7, 11, nil),                                                // unknown action
		udpRequest(id, actionAnnounce, 12, make([]byte, 50)),                      // short announce
		udpRequest(id, actionScrape, 13, []byte{1, 2, 3}),                         // short scrape
		udpRequest(0xdead, actionAnnounce, 14, make([]byte, 10)),                  // short and forged
		udpRequest(udpProtocolID, actionConnect, 15, nil)[:15],                    // truncated header
		udpRequest(id, 0xffffffff, 16, announceBody(hashA, "x", 1, eventNone, 1)), // negative action
	}
	for _, p := range junk {
		c.send(p)
	}
	// Replies come back in order, so had any junk been answered it would arrive first.
	if got := c.connect(99); got == 0 {
		t.Fatal("zero connection id")
	}
}

func TestUDPBadEventAndTruncatedScrape(t *testing.T) {
	tr, addr := newUDPTracker(t, nil, nil)
	c := newRawUDP(t, addr)
	id := c.connect(1)
	c.send(udpRequest(id, actionAnnounce, 2, announceBody(hashA, "a", 10, 9, 7001)))
	wantUDPError(t, c.recv(), 2, "invalid event")

	// Trailing BEP 41 options are ignored.
	body := append(announceBody(hashA, "a", 10, eventStarted, 7001), 2, 3, 'a', 'b', 'c', 0)
	c.send(udpRequest(id, actionAnnounce, 3, body))
	if r := c.recv(); binary.BigEndian.Uint32(r[0:4]) != actionAnnounce {
		t.Fatalf("reply %x", r)
	}
	wantStats(t, tr, hashA, Stats{Incomplete: 1})

	// More than 74 hashes: the first 74 are answered.
	hashes := bytes.Repeat(hashA[:], 80)
	c.send(udpRequest(id, actionScrape, 4, hashes))
	r := c.recv()
	if len(r) != 8+12*udpMaxScrape {
		t.Fatalf("scrape reply of %d bytes, want %d", len(r), 8+12*udpMaxScrape)
	}
	if leechers := binary.BigEndian.Uint32(r[16:20]); leechers != 1 {
		t.Fatalf("leechers = %d, want 1", leechers)
	}
}

func TestUDPIPv6(t *testing.T) {
	tr := New(Config{}, nil, testLogger(t), nil)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	addr := serveUDP(t, tr, "udp6", "[::1]:0")
	do := func(id string, port uint16) anatracker.AnnounceResponse {
		resp, err := anatracker.Announce{
			TrackerUrl:   "udp://" + addr.String() + "/announce",
			Context:      t.Context(),
			UdpNetwork:   "udp6",
			ListenPacket: loopbackListener("udp6", "[::1]:0"),
			Request: anatracker.AnnounceRequest{
				InfoHash: hashA, PeerId: peerID(id), Left: 10, Port: port, NumWant: -1,
			},
		}.Do()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	do("a", 7001)
	resp := do("b", 7002)
	if len(resp.Peers) != 1 || resp.Peers[0].IP.String() != "::1" || resp.Peers[0].Port != 7001 {
		t.Fatalf("peers = %v, want [[::1]:7001]", resp.Peers)
	}
}

// panicStore panics on every completion, standing in for any bug a packet might hit.
type panicStore struct{ store.Store }

func (*panicStore) RecordCompletion(context.Context, string, string, time.Time) (bool, error) {
	panic("store exploded")
}

func TestUDPPanicDropsPacketNotServer(t *testing.T) {
	tr := New(Config{}, &panicStore{openStore(t)}, testLogger(t), nil)
	if err := tr.Allow(t.Context(), hashA, 0); err != nil {
		t.Fatal(err)
	}
	addr := serveUDP(t, tr, "udp4", "127.0.0.1:0")
	c := newRawUDP(t, addr)
	id := c.connect(1)
	c.send(udpRequest(id, actionAnnounce, 2, announceBody(hashA, "a", 10, eventStarted, 7001)))
	c.recv()
	// The completion reaches the store, which panics: the packet goes unanswered...
	c.send(udpRequest(id, actionAnnounce, 3, announceBody(hashA, "a", 0, eventCompleted, 7001)))
	// ...and the server keeps answering (replies are in order, so had the
	// panicking announce been answered its reply would come first).
	if got := c.connect(4); got == 0 {
		t.Fatal("zero connection id")
	}
}
