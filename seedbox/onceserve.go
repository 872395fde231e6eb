package seedbox

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent"
	pp "github.com/anacrolix/torrent/peer_protocol"
)

// A flash crowd (issue 17): when a new episode drops, listeners arrive together and all ask the
// seeder for the same first pieces. The seeder's upload is what the podcaster pays for, and every
// block it sends twice before the others have gone out once is upload the listeners could have
// traded among themselves. So, while the seeder's upload is capped, a torrent's blocks are served
// once first: a request for a block already sent is rejected (BEP 6 reject; a peer without the fast
// extension is choked, which clears its requests, and unchoked again) until every block has gone
// out once, or until the block's grace has passed, in case the peer it went to lost it. The peer
// then asks for another block, or gets this one from the listener that has it. After every block
// has gone out once, a block is sent again at once only if no connected peer has announced its
// piece.
//
// The rule sits in the storage reader the client uses for peer requests only (not for hashing):
// anacrolix v1.61.0 offers no hook on which requests it serves, and a failed read is how it
// rejects one.

// errServedOnce is the read error that makes the client reject a request for a block already sent.
var errServedOnce = errors.New("seedbox: block already sent once; serving the others first")

// onceBlock is the unit of the rule: the block size every mainstream client requests.
const onceBlock = 16 << 10

// onceGate remembers which blocks of one torrent have been read for a peer.
type onceGate struct {
	grace      time.Duration
	pieceBytes int64
	now        func() time.Time
	held       atomic.Pointer[func(piece int) bool] // set once the torrent is added

	mu     sync.Mutex
	sentAt []time.Time // zero: not sent yet
	left   int         // blocks not sent yet
}

func newOnceGate(length, pieceLength int64, grace time.Duration, now func() time.Time) *onceGate {
	n := int((length + onceBlock - 1) / onceBlock)
	return &onceGate{grace: grace, pieceBytes: pieceLength, now: now, sentAt: make([]time.Time, n), left: n}
}

// setHeld gives the gate a way to ask whether some connected peer has announced a piece.
func (g *onceGate) setHeld(held func(piece int) bool) { g.held.Store(&held) }

// allow reports whether the n bytes at torrent offset off may be sent, and records them as sent
// if so. Blocks not sent yet are always allowed. A block sent within its grace is refused; up to
// three graces it is also refused while some connected peer has announced its piece (the
// requester can get it there).
func (g *onceGate) allow(off int64, n int) bool {
	if n <= 0 || off < 0 {
		return true
	}
	first, last := int(off/onceBlock), int((off+int64(n)-1)/onceBlock)
	held := func(int) bool { return false }
	if h := g.held.Load(); h != nil {
		held = *h
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if last >= len(g.sentAt) {
		return true // a read the client will reject as out of range anyway
	}
	now := g.now()
	var age time.Duration = -1 // since the latest send of one of the blocks; -1: none sent
	for i := first; i <= last; i++ {
		if t := g.sentAt[i]; !t.IsZero() && (age < 0 || now.Sub(t) < age) {
			age = now.Sub(t)
		}
	}
	switch {
	case age < 0:
	case age < g.grace:
		// Read for a peer does not mean sent yet: behind the cap it may wait its turn for up to
		// the floor, and the peer then needs to complete the piece and announce it.
		return false
	case age < 3*g.grace && held(int(off/g.pieceBytes)):
		return false
	}
	for i := first; i <= last; i++ {
		if g.sentAt[i].IsZero() {
			g.left--
		}
		g.sentAt[i] = now
	}
	return true
}

// cancelled forgets the send of the block at piece index, offset begin, if it was within the
// grace: the peer cancelled the request, so the read may never have gone out (the client drops a
// request read but not yet written), and without this nobody would get the block until its grace
// passed. If it had gone out, one block is sent twice.
func (g *onceGate) cancelled(index, begin uint32) {
	off := int64(index)*g.pieceBytes + int64(begin)
	i := int(off / onceBlock)
	g.mu.Lock()
	defer g.mu.Unlock()
	if i < 0 || i >= len(g.sentAt) || g.sentAt[i].IsZero() || g.now().Sub(g.sentAt[i]) >= g.grace {
		return
	}
	g.sentAt[i] = time.Time{}
	g.left++
}

// onceCancels makes the client tell each torrent's gate about the cancels its peers send.
func onceCancels(tc *torrent.ClientConfig, gates *sync.Map) {
	tc.Callbacks.ReadMessage = func(pc *torrent.PeerConn, m *pp.Message) {
		if m.Type != pp.Cancel {
			return
		}
		if g, ok := gates.Load(pc.Torrent()); ok {
			g.(*onceGate).cancelled(uint32(m.Index), uint32(m.Begin))
		}
	}
}

// onceGrace is how long a sent block is held back from a second peer: long enough for the first
// to complete the piece and announce it at the capped rate, short enough that a block lost with a
// dropped peer comes back.
func onceGrace(length, bytesPerSecond int64) time.Duration {
	floor := time.Duration(float64(length) / float64(bytesPerSecond) * float64(time.Second))
	return 2*time.Second + floor
}

// gatedReader is the torrent-wide reader the client uses for peer requests.
type gatedReader struct {
	m    *mediaStorage
	gate *onceGate
}

func (r gatedReader) ReadAt(b []byte, off int64) (int, error) {
	if !r.gate.allow(off, len(b)) {
		return 0, errServedOnce
	}
	of, err := r.m.files.acquire(r.m.path)
	if err != nil {
		return 0, err
	}
	defer r.m.files.release(of)
	return of.f.ReadAt(b, off)
}

func (gatedReader) Close() error { return nil }

// heldByPeer reports whether a peer connected to t has announced a piece, from copies of their
// bitfields taken at most every heldRefresh (each request asks, and they come by the thousand).
func heldByPeer(t *torrent.Torrent) func(piece int) bool {
	var (
		mu    sync.Mutex
		at    time.Time
		peers []interface{ Contains(uint32) bool }
	)
	return func(piece int) bool {
		mu.Lock()
		defer mu.Unlock()
		if now := time.Now(); now.Sub(at) >= heldRefresh {
			at = now
			peers = peers[:0]
			for _, pc := range t.PeerConns() {
				peers = append(peers, pc.PeerPieces())
			}
		}
		for _, p := range peers {
			if p.Contains(uint32(piece)) {
				return true
			}
		}
		return false
	}
}

const heldRefresh = 100 * time.Millisecond

// quietServedOnce drops the client's warning for each request the gate refused ("error reading
// chunk for peer Request ...: <errServedOnce>"): in a flash crowd there are thousands a second,
// and they are the rule working, not a fault.
type quietServedOnce struct{ slog.Handler }

func (h quietServedOnce) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, errServedOnce.Error()) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietServedOnce) WithAttrs(as []slog.Attr) slog.Handler {
	return quietServedOnce{h.Handler.WithAttrs(as)}
}

func (h quietServedOnce) WithGroup(name string) slog.Handler {
	return quietServedOnce{h.Handler.WithGroup(name)}
}
