package seedbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"

	"golang.org/x/time/rate"
)

// The seeder opens its TCP sockets itself, instead of letting the client do it, so that each peer
// connection can be wrapped in a peerConn: the first bytes are acknowledged at once, and the
// upload rate limit is applied to the bytes written.

// peerNetwork is the TCP network for a listen host: an address literal pins the family, as the
// library's own listener would, and an empty host (or a name) listens on both.
func peerNetwork(host string) string {
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return "tcp"
	case ip.Is4():
		return "tcp4"
	default:
		return "tcp6"
	}
}

// peerConns makes the listener and dialer the seeder hands the client.
type peerConns struct {
	network string
	limit   *rate.Limiter   // nil: unlimited
	ctx     context.Context // cancelled when the seeder closes, ending waits on limit
	initial *initialSeeding // nil: connections are not rewritten
	written *atomic.Int64   // bytes written to every TCP peer, protocol included
}

// uploadBurst is the largest write the rate limiter lets through at once; writes are cut to it.
const uploadBurst = 64 << 10

func newUploadLimiter(bytesPerSecond int64) *rate.Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(bytesPerSecond), uploadBurst)
}

// ErrListen is wrapped by NewSeeder's error when it cannot listen on its ListenAddr, so that a
// caller can blame its port setting only when the port is at fault.
var ErrListen = errors.New("listening for peers")

func (p peerConns) listen(addr string) (*peerListener, error) {
	// BitTorrent has its own keep-alive messages.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(p.ctx, p.network, addr)
	if err != nil {
		return nil, fmt.Errorf("%w on %s: %w", ErrListen, addr, err)
	}
	return &peerListener{Listener: ln, conns: p}, nil
}

// wrap returns c as a peerConn (c itself if it is not TCP).
func (p peerConns) wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	pc := &peerConn{TCPConn: tc, rc: rc, limit: p.limit, ctx: p.ctx, written: p.written}
	pc.quickAckLeft.Store(quickAckBytes)
	if p.initial != nil {
		return newSeedConn(pc, p.initial)
	}
	return pc
}

// DialerNetwork and Dial make peerConns the client's TCP dialer: seeds dial the peers trackers
// tell them about, too.
func (p peerConns) DialerNetwork() string { return p.network }

func (p peerConns) Dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: -1, FallbackDelay: -1}
	c, err := d.DialContext(ctx, p.network, addr)
	if err != nil {
		return nil, err
	}
	return p.wrap(c), nil
}

type peerListener struct {
	net.Listener
	conns peerConns
}

func (l *peerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.conns.wrap(c), nil
}

// quickAckBytes is how much of what a peer sends first is acknowledged at once: the MSE and
// BitTorrent handshakes, the extension handshake and the first requests fit in it.
//
// Why: libtorrent (qBittorrent, Deluge) opens its encrypted handshake by writing the MSE request
// and then, in a second small write, the BitTorrent handshake (the "IA"). Nagle holds that second
// write until the first is acknowledged. Our side (anacrolix's MSE code) reads the IA before it
// answers, so nothing carries the ACK back, and Linux, having just sent data, delays it: every
// encrypted connection from libtorrent stalled 40 ms before the first byte (seen with tcpdump on
// loopback; a libtorrent seeder answers before reading the IA and does not stall).
const quickAckBytes = 16 << 10

// peerConn is one TCP peer connection.
type peerConn struct {
	*net.TCPConn
	rc           syscall.RawConn
	quickAckLeft atomic.Int64
	limit        *rate.Limiter
	ctx          context.Context
	written      *atomic.Int64
}

// Read asks for an immediate ACK after each read until quickAckBytes have been read.
func (c *peerConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	if n > 0 && c.quickAckLeft.Load() > 0 {
		c.quickAckLeft.Add(-int64(n))
		_ = c.rc.Control(quickAck) // a hint: a failure only costs the delay it avoids
	}
	return n, err
}

func (c *peerConn) count(n int) {
	if c.written != nil {
		c.written.Add(int64(n))
	}
}

// Write waits for the upload rate limit, shared by every peer connection, before each part of b.
// We limit here rather than through the client's own limiter: with it, a connection whose
// retry timer fired before its writer went back to sleep stopped uploading until its next
// keep-alive (a missed wake-up in anacrolix v1.61.0; a test's leecher got 0 bytes in 30 s).
func (c *peerConn) Write(b []byte) (int, error) {
	if c.limit == nil {
		n, err := c.TCPConn.Write(b)
		c.count(n)
		return n, err
	}
	written := 0
	for len(b) > 0 {
		part := b[:min(len(b), uploadBurst)]
		if err := c.limit.WaitN(c.ctx, len(part)); err != nil {
			return written, fmt.Errorf("upload rate limit: %w", err)
		}
		n, err := c.TCPConn.Write(part)
		written += n
		c.count(n)
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}
