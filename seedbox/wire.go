package seedbox

import (
	"bytes"
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"

	pp "github.com/anacrolix/torrent/peer_protocol"
)

// seedConn rewrites what the client writes to one TCP peer for initial seeding (initialseed.go):
// it finds the BitTorrent handshake (plaintext, or after an MSE handshake that chose plaintext),
// replaces the seed's bitfield or HAVE ALL with "nothing" (an empty bitfield, or HAVE NONE under
// the fast extension), counts the piece data sent, and adds HAVE messages between messages.
// When the torrent has no plan, or the stream stays unreadable (RC4), it only passes bytes on.
type seedConn struct {
	net.Conn
	is     *initialSeeding
	remote string

	pass    atomic.Bool              // nothing more to rewrite: Write goes straight through
	kicked  atomic.Bool              // a refill is due at the next message boundary
	planRef atomic.Pointer[seedPlan] // set while joined, for the read callback (which must not wait for mu)
	peer    atomic.Pointer[[20]byte] // the remote peer ID, once its handshake is read

	mu     sync.Mutex
	state  wireState
	plan   *seedPlan
	joined bool
	// handshake search
	scanned int
	tail    []byte // the last bytes scanned, for a protocol string split across writes
	hsLeft  int    // handshake bytes after the protocol string still to pass
	hs      []byte // those bytes (reserved, info hash, peer id)
	// the message being written
	hdr      [5]byte // length prefix and type
	hdrN     int
	bodyLeft int
	typ      pp.MessageType
	drop     bool   // the message is a bitfield or HAVE ALL being replaced
	dropLen  int    // its body length
	piece    []byte // a piece message's index and begin, as read so far
	index    int
	block    int64
}

type wireState int

const (
	wireScan      wireState = iota // looking for the BitTorrent protocol string
	wireHandshake                  // passing the rest of our handshake
	wireMessages                   // parsing messages
)

const (
	btProtocol = "\x13BitTorrent protocol"
	// scanLimit bounds the search: an MSE handshake is at most 96 + 512 + 28 + 512 bytes.
	scanLimit = 4 << 10
	// maxMessage is the largest message we parse; anything larger is not the stream we think.
	maxMessage = 1 << 20
)

func newSeedConn(c net.Conn, is *initialSeeding) *seedConn {
	sc := &seedConn{Conn: c, is: is, remote: c.RemoteAddr().String()}
	is.track(sc.remote, sc)
	return sc
}

func (c *seedConn) currentPlan() *seedPlan { return c.planRef.Load() }

func (c *seedConn) setPeerID(id [20]byte) { c.peer.Store(&id) }

func (c *seedConn) peerID() [20]byte {
	if id := c.peer.Load(); id != nil {
		return *id
	}
	return [20]byte{}
}

func (c *seedConn) Close() error {
	c.mu.Lock()
	p, joined := c.plan, c.joined
	c.plan, c.joined = nil, false
	c.planRef.Store(nil)
	c.pass.Store(true)
	c.mu.Unlock()
	c.is.untrack(c.remote, c)
	if joined {
		p.leave(c)
	}
	return c.Conn.Close()
}

func (c *seedConn) Write(b []byte) (int, error) {
	if c.pass.Load() {
		return c.Conn.Write(b)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.rewrite(b)
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// kick writes the HAVE messages c is due if its stream is between messages; if not, the write
// in progress does so at the end of its message.
func (c *seedConn) kick() {
	c.kicked.Store(true)
	if c.pass.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != wireMessages || !c.joined || c.hdrN != 0 || c.bodyLeft != 0 {
		return
	}
	c.kicked.Store(false)
	haves, last := c.plan.refill(c)
	if len(haves) > 0 {
		_, _ = c.Conn.Write(haves) // an error shows in the client's next write
	}
	if last {
		c.finish()
	}
}

// finish stops rewriting: from here on the stream passes through.
// The plan keeps hearing what the peer has (planRef) until the connection closes.
func (c *seedConn) finish() {
	c.pass.Store(true)
}

// rewrite returns what to write for b.
func (c *seedConn) rewrite(b []byte) []byte {
	r := rewriter{b: b}
	i := 0
	for i < len(b) && !c.pass.Load() {
		switch c.state {
		case wireScan:
			i = c.scan(b)
		case wireHandshake:
			n := min(c.hsLeft, len(b)-i)
			c.hs = append(c.hs, b[i:i+n]...)
			c.hsLeft -= n
			i += n
			if c.hsLeft == 0 {
				var ih [20]byte
				copy(ih[:], c.hs[8:28])
				c.hs = nil
				if c.plan = c.is.plan(ih); c.plan == nil {
					c.pass.Store(true)
				} else {
					c.state = wireMessages
				}
			}
		case wireMessages:
			i = c.message(&r, b, i)
		}
	}
	// Ending between two messages: HAVEs due now must not wait for the client's next write (it
	// may have nothing to send until the peer, told of new pieces, asks for them).
	if c.state == wireMessages && !c.pass.Load() && c.hdrN == 0 && c.bodyLeft == 0 {
		c.between(&r, len(b))
	}
	return r.result()
}

// scan looks for the protocol string in b (and the tail of earlier writes), and returns where
// the scan stopped in b.
func (c *seedConn) scan(b []byte) int {
	window := append(c.tail, b...)
	if at := bytes.Index(window, []byte(btProtocol)); at >= 0 {
		c.tail = nil
		c.state, c.hsLeft = wireHandshake, 48
		return at + len(btProtocol) - (len(window) - len(b))
	}
	c.scanned += len(b)
	if c.scanned > scanLimit {
		c.tail = nil
		c.pass.Store(true)
		return len(b)
	}
	keep := min(len(window), len(btProtocol)-1)
	c.tail = append([]byte(nil), window[len(window)-keep:]...)
	return len(b)
}

// message parses from b[i], the middle of our message stream, and returns where it stopped.
func (c *seedConn) message(r *rewriter, b []byte, i int) int {
	if c.hdrN == 0 && c.bodyLeft == 0 {
		// Between messages: the place to add HAVEs.
		c.between(r, i)
		if c.pass.Load() {
			return i
		}
	}
	if c.hdrN < 5 && c.bodyLeft == 0 {
		start := i
		// held: the header is not wholly in b, so its first bytes wait in c.hdr until the type
		// says whether the message is passed on (the common case, a header inside one write,
		// costs no copy).
		held := c.hdrN > 0 || len(b)-i < 5
		for c.hdrN < 5 && i < len(b) {
			c.hdr[c.hdrN] = b[i]
			c.hdrN++
			i++
			if c.hdrN == 4 && binary.BigEndian.Uint32(c.hdr[:4]) == 0 {
				break // keep-alive: a length and no type
			}
		}
		if held {
			r.keep(start)
			r.skip(i)
		}
		length := int(binary.BigEndian.Uint32(c.hdr[:4]))
		switch {
		case c.hdrN == 4 && length == 0:
			if held {
				r.insert(c.hdr[:4])
			}
			c.hdrN = 0
			return i
		case c.hdrN < 5:
			return i
		case length > maxMessage:
			if held {
				r.insert(c.hdr[:5])
			}
			c.hdrN = 0
			c.pass.Store(true) // not a stream we understand: stop touching it
			return i
		}
		c.typ, c.bodyLeft = pp.MessageType(c.hdr[4]), length-1
		c.drop = c.typ == pp.Bitfield || c.typ == pp.HaveAll
		c.dropLen = c.bodyLeft
		c.piece, c.block = c.piece[:0], 0
		switch {
		case c.drop && !held:
			r.keep(start)
			r.skip(i)
		case !c.drop && held:
			r.insert(c.hdr[:5])
		}
		if c.bodyLeft == 0 {
			c.endMessage(r)
		}
		return i
	}
	n := min(c.bodyLeft, len(b)-i)
	if c.drop {
		r.keep(i)
		r.skip(i + n)
	} else if c.typ == pp.Piece {
		body := b[i : i+n]
		if need := 8 - len(c.piece); need > 0 {
			take := min(need, len(body))
			c.piece = append(c.piece, body[:take]...)
			body = body[take:]
			if len(c.piece) == 8 {
				c.index = int(binary.BigEndian.Uint32(c.piece[:4]))
			}
		}
		c.block += int64(len(body))
	}
	c.bodyLeft -= n
	i += n
	if c.bodyLeft == 0 {
		c.endMessage(r)
	}
	return i
}

// endMessage is called once a message's last byte has been seen.
func (c *seedConn) endMessage(r *rewriter) {
	c.hdrN = 0
	switch {
	case c.drop:
		c.drop = false
		if c.typ == pp.HaveAll {
			r.insert([]byte{0, 0, 0, 1, byte(pp.HaveNone)})
		} else {
			empty := make([]byte, 5+c.dropLen)
			binary.BigEndian.PutUint32(empty, uint32(1+c.dropLen))
			empty[4] = byte(pp.Bitfield)
			r.insert(empty)
		}
		if !c.joined {
			c.joined = true
			c.planRef.Store(c.plan)
			r.insert(c.plan.join(c))
		}
	case c.typ == pp.Piece && len(c.piece) == 8 && c.joined:
		if c.plan.sent(c, c.index, c.block) {
			c.kicked.Store(true)
		}
	}
}

// between runs between two messages: HAVEs due go in here.
func (c *seedConn) between(r *rewriter, i int) {
	if !c.joined || !c.kicked.Swap(false) {
		return
	}
	haves, last := c.plan.refill(c)
	if len(haves) > 0 {
		r.keep(i)
		r.insert(haves)
	}
	if last {
		r.keep(i)
		c.finish()
	}
}

// rewriter builds the bytes to write from b: kept runs of b, with bytes skipped or inserted.
// While nothing changes it is b itself.
type rewriter struct {
	b, out  []byte
	from    int
	changed bool
}

// keep passes b[from:to] on.
func (r *rewriter) keep(to int) {
	if r.changed {
		r.out = append(r.out, r.b[r.from:to]...)
	}
	r.from = to
}

func (r *rewriter) change() {
	if !r.changed {
		r.changed = true
		r.out = append(r.out, r.b[:r.from]...)
	}
}

// skip drops b[from:to]; keep must have been called up to from.
func (r *rewriter) skip(to int) {
	if to == r.from {
		return
	}
	r.change()
	r.from = to
}

// insert adds p at from.
func (r *rewriter) insert(p []byte) {
	if len(p) == 0 {
		return
	}
	r.change()
	r.out = append(r.out, p...)
}

func (r *rewriter) result() []byte {
	if !r.changed {
		return r.b
	}
	r.keep(len(r.b))
	return r.out
}
