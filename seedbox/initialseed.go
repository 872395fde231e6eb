package seedbox

import (
	"cmp"
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	pp "github.com/anacrolix/torrent/peer_protocol"
	"github.com/anacrolix/torrent/types/infohash"
)

// Initial seeding (issue 17, after BEP 16's super-seeding): when a new episode drops, listeners
// arrive together, and a seeder that says "I have everything" to each of them is asked by all for
// the same pieces; it then sends the file several times over before the listeners trade among
// themselves. Instead, each plaintext peer is told at first that the seeder has nothing, then
// given a few pieces of its own (HAVE messages) that nobody else is offered: when it has received
// them it is given the next ones. So each piece goes out once, to one listener, who passes it on
// to the others; every block the seeder sends is one the swarm did not have. After that a peer is
// told of a piece only when nobody connected can give it to it (see seedPlan).
//
// anacrolix v1.61.0 writes a seed's bitfield itself and has no hook on what it advertises, so
// the rule works on the wire: seedConn (wire.go) rewrites the plaintext BitTorrent stream the
// client writes to each TCP peer, and the client's ReadMessage callback tells us what each peer
// already has. Peers whose stream is RC4-encrypted (MSE) are seeded as before: we cannot read
// their stream, and they are told about every piece at once.

// initialSeeding holds the plans of the torrents being initially seeded, by handshake info hash.
type initialSeeding struct {
	now    func() time.Time
	reveal bool // seedPlan.reveals for every plan

	mu     sync.Mutex
	plans  map[[20]byte]*seedPlan
	hashes map[[20]byte][][20]byte // a torrent's v1 info hash -> its handshake hashes
	conns  map[string]*seedConn    // by remote address, for the read callback
}

func newInitialSeeding(now func() time.Time, reveal bool) *initialSeeding {
	return &initialSeeding{now: now, reveal: reveal, plans: make(map[[20]byte]*seedPlan),
		hashes: make(map[[20]byte][][20]byte), conns: make(map[string]*seedConn)}
}

// add starts a plan for the torrent ih the seeder has just added, under each info hash a peer
// may send in its handshake: ih, and a hybrid's truncated v2 hash.
func (is *initialSeeding) add(ih [20]byte, v2 *[20]byte, length, pieceLength int64) {
	if length <= 0 || pieceLength <= 0 {
		return
	}
	hashes := [][20]byte{ih}
	if v2 != nil {
		hashes = append(hashes, *v2)
	}
	p := newSeedPlan(length, pieceLength, is.reveal, is.now)
	is.mu.Lock()
	defer is.mu.Unlock()
	is.hashes[ih] = hashes
	for _, h := range hashes {
		is.plans[h] = p
	}
}

// remove forgets the torrent ih, no longer seeded.
func (is *initialSeeding) remove(ih [20]byte) {
	is.mu.Lock()
	defer is.mu.Unlock()
	for _, h := range is.hashes[ih] {
		delete(is.plans, h)
	}
	delete(is.hashes, ih)
}

func (is *initialSeeding) plan(h [20]byte) *seedPlan {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.plans[h]
}

func (is *initialSeeding) track(remote string, c *seedConn) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.conns[remote] = c
}

func (is *initialSeeding) untrack(remote string, c *seedConn) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.conns[remote] == c {
		delete(is.conns, remote)
	}
}

// connOf is our connection under the client's pc (matched by remote address), or nil.
func (is *initialSeeding) connOf(pc *torrent.PeerConn) *seedConn {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.conns[pc.RemoteAddr.String()]
}

// completedHandshake is the client's CompletedHandshake callback: which peer a connection is.
func (is *initialSeeding) completedHandshake(pc *torrent.PeerConn, _ infohash.T) {
	if c := is.connOf(pc); c != nil {
		c.setPeerID(pc.PeerID)
	}
}

// readMessage is the client's ReadMessage callback: what a peer says it has.
func (is *initialSeeding) readMessage(pc *torrent.PeerConn, m *pp.Message) {
	switch m.Type {
	case pp.Have, pp.Bitfield, pp.HaveAll:
	default:
		return
	}
	c := is.connOf(pc)
	if c == nil {
		return
	}
	p := c.currentPlan()
	if p == nil {
		return
	}
	switch m.Type {
	case pp.Have:
		p.peerHas(c, int(m.Index))
	case pp.Bitfield:
		for i, ok := range m.Bitfield {
			if ok {
				p.peerHas(c, i)
			}
		}
	case pp.HaveAll:
		p.peerIsSeed(c)
	}
}

// staleAfter is how long a peer may leave its pieces unasked before they go to another peer
// (it may have no interest: a seed, a peer that has them from elsewhere, a stalled client), and
// how long a peer may go without getting a piece before the seeder feeds it itself.
const staleAfter = 5 * time.Second

// aheadBytes is how much of the file a peer is offered at least at a time: enough to keep its
// request pipeline full across a round trip, small enough that a crowd spreads over many peers.
// A peer that takes more is offered four times what it took in the last second, up to its share
// of what is still to go out once while other peers wait: a lone fast listener is then not held
// to a window (each piece still goes out once), and a fast one in a crowd does not take the whole
// first copy, which the others would then have to fetch from it alone.
const aheadBytes = 2 << 20

// revealAfter is, as a fraction of the time the round took to send every piece once, how long
// the crowd then has to trade among itself before the seeder offers everything to everyone. A
// crowd that has not finished by then is held back by its own links, not the seeder's: the
// seeder has upload to spare (uncapped, or listeners on slow uplinks), and spends it.
const revealAfter = 4 // a quarter of the round

// seedPlan is one torrent's initial seeding. Until every piece has gone out once, a piece not
// yet sent is offered to one peer at a time. A piece already sent is offered to a peer that
// lacks it only when no peer known to the seeder has it (the peer that had it left short of the
// whole file), or when the peer has got no piece from anyone for staleAfter (its other sources
// choke it, or it cannot reach them): then it is starved, and told of the pieces it lacks that
// the fewest peers hold, a window at a time, refilled as it gets them (told of every piece at
// once, it asked the seeder for all of them while the crowd could still give it most). A quarter
// of the round's time after every piece went out once, every peer of that crowd still short is
// told of every piece (a later arrival is not: the crowd can give it what it needs), if reveal
// is set.
type seedPlan struct {
	now      func() time.Time
	pieceLen int64
	length   int64
	pieces   int
	ahead    int  // pieces offered to a peer at a time
	reveals  bool // the reveal is on: the seeder's upload has no configured cap

	mu       sync.Mutex
	sentOnce []bool
	unsent   int         // pieces not yet sent once this round
	owner    []*seedConn // who a piece not yet sent once is offered to; nil: nobody
	holders  []int32     // peers of this round known to have each piece (see dropLocked)
	peers    map[*seedConn]*planPeer
	ticker   *time.Timer // the stale check, once a second while the round lasts
	started  time.Time   // when the round began
	revealAt time.Time   // when every peer is told of every piece; zero until every piece went out
	revealer *time.Timer // wakes the peers then
}

type planPeer struct {
	advertised []bool
	told       int // pieces advertised
	has        []bool
	nhas       int
	offered    map[int]bool  // pieces offered to it alone and not yet fully sent to it
	sending    map[int]int64 // bytes of a piece sent to it so far
	lastSent   time.Time     // last piece data sent to it, or when it was last offered pieces
	progress   time.Time     // when it last got a piece (from us or anyone), or joined
	winStart   time.Time     // the current second of piece data sent to it
	winBytes   int64         // bytes sent to it in that second
	lastWin    int64         // bytes sent to it in the second before
	peerID     [20]byte      // from its handshake; zero if unknown
	starved    bool          // got no piece from anyone for staleAfter: fed a window at a time
	crowd      bool          // here when every piece had gone out once: told all at the reveal
	seed       bool
	done       bool // told of every piece, or has them all: no more rewriting
}

func newSeedPlan(length, pieceLength int64, reveals bool, now func() time.Time) *seedPlan {
	return &seedPlan{
		now: now, pieceLen: pieceLength, length: length, reveals: reveals,
		pieces: int((length + pieceLength - 1) / pieceLength),
		ahead:  int(max(2, min(64, aheadBytes/pieceLength))),
		peers:  make(map[*seedConn]*planPeer),
	}
}

// startLocked begins a round when the first peer of a crowd joins: every piece is to go out
// once again. Between crowds (no peer connected) a plan holds no per-piece state.
func (p *seedPlan) startLocked() {
	n := p.pieces
	p.sentOnce, p.owner, p.holders = make([]bool, n), make([]*seedConn, n), make([]int32, n)
	p.unsent, p.started, p.revealAt = n, p.now(), time.Time{}
	// On a timer, not on the connections' writes: a seeder nobody asks for anything writes
	// nothing, and a stalled peer must still be fed.
	p.ticker = time.AfterFunc(time.Second, p.onTick)
}

func (p *seedPlan) onTick() {
	wake := p.tick()
	p.mu.Lock()
	if p.ticker != nil {
		p.ticker.Reset(time.Second)
	}
	p.mu.Unlock()
	kickAll(wake)
}

// endLocked ends the round: the last peer has left.
func (p *seedPlan) endLocked() {
	p.sentOnce, p.owner, p.holders = nil, nil, nil
	if p.ticker != nil {
		p.ticker.Stop()
		p.ticker = nil
	}
	if p.revealer != nil {
		p.revealer.Stop()
		p.revealer = nil
	}
}

// sentOnceLocked records that piece i has gone out once; after the last, the reveal is set.
func (p *seedPlan) sentOnceLocked(i int, now time.Time) {
	p.sentOnce[i] = true
	p.owner[i] = nil
	if p.unsent--; p.unsent > 0 || !p.reveals {
		return
	}
	for _, pr := range p.peers {
		pr.crowd = true
	}
	wait := now.Sub(p.started) / revealAfter
	p.revealAt = now.Add(wait)
	p.revealer = time.AfterFunc(wait, func() {
		p.mu.Lock()
		wake := p.othersLocked(nil)
		p.mu.Unlock()
		kickAll(wake)
	})
}

func (p *seedPlan) pieceSize(i int) int64 {
	if i == p.pieces-1 {
		return p.length - int64(i)*p.pieceLen
	}
	return p.pieceLen
}

// join registers c, whose stream has just had its bitfield replaced by "nothing", and returns the
// HAVE messages for its first pieces.
func (p *seedPlan) join(c *seedConn) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.peers) == 0 {
		p.startLocked()
	}
	n := p.pieces
	now := p.now()
	pr := &planPeer{advertised: make([]bool, n), has: make([]bool, n), offered: map[int]bool{},
		sending: map[int]int64{}, lastSent: now, progress: now, peerID: c.peerID()}
	p.peers[c] = pr
	out, _ := p.refillLocked(c, pr)
	return out
}

// refill returns the HAVE messages c is due now. last is true when c needs no more rewriting
// (it has been told of every piece, or has them all).
func (p *seedPlan) refill(c *seedConn) (haves []byte, last bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr := p.peers[c]
	if pr == nil {
		return nil, true
	}
	return p.refillLocked(c, pr)
}

func (p *seedPlan) refillLocked(c *seedConn, pr *planPeer) ([]byte, bool) {
	var out []byte
	tell := func(i int) {
		if !pr.advertised[i] {
			pr.advertised[i] = true
			pr.told++
			out = appendHave(out, i)
		}
	}
	if pr.seed || pr.done {
		return nil, pr.done
	}
	now := p.now()
	revealed := pr.crowd && !now.Before(p.revealAt)
	if now.Sub(pr.progress) >= staleAfter {
		pr.starved = true
	}
	ahead := max(p.ahead, int(4*max(pr.winBytes, pr.lastWin)/p.pieceLen))
	if n := p.steeredLocked(); n > 1 {
		// Its share of what is still to go out once (see aheadBytes).
		ahead = min(ahead, max(p.ahead, (p.unsent+n-1)/n))
	}
	for i := 0; i < len(p.sentOnce); i++ {
		switch {
		case pr.has[i] || pr.advertised[i]:
		case !p.sentOnce[i]:
			if p.owner[i] == nil && len(pr.offered) < ahead {
				p.owner[i] = c
				pr.offered[i] = true
			}
			if p.owner[i] == c {
				tell(i) // new, or handed over from another connection of the same peer
			}
		case revealed || p.holders[i] == 0:
			tell(i)
		}
	}
	if pr.starved && !revealed {
		p.feedStarvedLocked(pr, ahead, tell)
	}
	if len(out) > 0 {
		pr.lastSent = now
	}
	if pr.nhas == len(pr.has) || pr.told == len(pr.advertised) && len(pr.offered) == 0 {
		// Nothing left to steer: its stream passes through, and what it has still counts. A
		// peer told of every piece while some are still its alone to be sent (a lone or fast
		// peer can be offered all that is left) is followed until they are: released early,
		// they would be offered to the next peer too, and go out twice.
		pr.done = true
		p.releaseLocked(c, pr)
		return out, true
	}
	return out, false
}

// feedStarvedLocked tells a starved peer of the pieces it lacks that the fewest peers hold, until
// ahead of them are told and not yet had: it is served at the seeder's pace (refilled on every
// piece it gets) while the crowd can still give it the rest.
func (p *seedPlan) feedStarvedLocked(pr *planPeer, ahead int, tell func(int)) {
	pending := 0
	var lack []int
	for i := range pr.has {
		switch {
		case pr.has[i] || !p.sentOnce[i]: // not yet out once: its owner's (or its own offer)
		case pr.advertised[i]:
			pending++
		default:
			lack = append(lack, i)
		}
	}
	if pending >= ahead {
		return
	}
	slices.SortStableFunc(lack, func(a, b int) int { return cmp.Compare(p.holders[a], p.holders[b]) })
	for _, i := range lack[:min(len(lack), ahead-pending)] {
		tell(i)
	}
}

// steeredLocked is how many peers are still offered pieces one share at a time.
func (p *seedPlan) steeredLocked() int {
	n := 0
	for _, pr := range p.peers {
		if !pr.seed && !pr.done {
			n++
		}
	}
	return n
}

// sent records n bytes of piece data of piece i written to c, and reports whether c is due a
// refill (the piece is now wholly sent to it).
func (p *seedPlan) sent(c *seedConn, i int, n int64) (refill bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr := p.peers[c]
	if pr == nil || i < 0 || i >= len(p.sentOnce) {
		return false
	}
	now := p.now()
	pr.lastSent = now
	if gap := now.Sub(pr.winStart); gap >= time.Second {
		pr.lastWin, pr.winBytes, pr.winStart = pr.winBytes, 0, now
		if gap >= 2*time.Second { // a quiet second in between
			pr.lastWin = 0
		}
	}
	pr.winBytes += n
	pr.sending[i] += n
	if pr.sending[i] < p.pieceSize(i) {
		return false
	}
	delete(pr.sending, i)
	delete(pr.offered, i)
	pr.progress = now
	p.hasLocked(pr, i)
	if !p.sentOnce[i] {
		p.sentOnceLocked(i, now)
	}
	return true
}

// tick, once a second, moves the pieces offered to peers that have asked for nothing in
// staleAfter back to the pool, and returns the connections to wake: those that have stalled and
// are due a window of pieces, and those with room for the freed pieces.
func (p *seedPlan) tick() []*seedConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var wake []*seedConn
	freed := false
	for c, pr := range p.peers {
		if now.Sub(pr.progress) >= staleAfter && !pr.seed && !pr.done {
			wake = append(wake, c)
		}
		if len(pr.offered) == 0 || now.Sub(pr.lastSent) < staleAfter {
			continue
		}
		for i := range pr.offered {
			if pr.sending[i] == 0 {
				p.owner[i] = nil
				delete(pr.offered, i)
				freed = true
			}
		}
	}
	if freed {
		wake = append(wake, p.roomLocked(nil)...)
	}
	return wake
}

// peerHas records that c's peer has piece i (its bitfield or a HAVE).
func (p *seedPlan) peerHas(c *seedConn, i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr := p.peers[c]; pr != nil && i >= 0 && i < len(pr.has) {
		if !pr.has[i] {
			pr.progress = p.now()
		}
		p.hasLocked(pr, i)
	}
}

func (p *seedPlan) hasLocked(pr *planPeer, i int) {
	if !pr.has[i] {
		pr.has[i] = true
		pr.nhas++
		p.holders[i]++
	}
}

// peerIsSeed records that c's peer has every piece: it is offered nothing, and what it was
// offered goes to others.
func (p *seedPlan) peerIsSeed(c *seedConn) {
	p.update(c, func(pr *planPeer) []*seedConn {
		pr.seed = true
		for i := range pr.has {
			p.hasLocked(pr, i)
		}
		return p.releaseLocked(c, pr)
	})
}

// update runs f on c's state under the lock, if c is in the plan, then wakes the connections f
// returns (after the lock: waking takes their locks).
func (p *seedPlan) update(c *seedConn, f func(pr *planPeer) []*seedConn) {
	wake := func() []*seedConn {
		p.mu.Lock()
		defer p.mu.Unlock()
		if pr := p.peers[c]; pr != nil {
			return f(pr)
		}
		return nil
	}()
	kickAll(wake)
}

// leave forgets c (closed): the pieces it was offered and had not received go to others, and
// the pieces only it had are offered again.
func (p *seedPlan) leave(c *seedConn) {
	p.update(c, func(pr *planPeer) []*seedConn {
		if twin := p.twinLocked(c, pr); twin != nil {
			// The same peer on another connection (a client dropping a duplicate): it has what
			// this one got, and takes over its offers and the pieces half sent on it.
			tp := p.peers[twin]
			for i, ok := range pr.has {
				if ok {
					p.hasLocked(tp, i)
				}
			}
			for i := range pr.offered {
				p.owner[i] = twin
				tp.offered[i] = true
				tp.sending[i] += pr.sending[i]
			}
			clear(pr.offered)
			p.dropLocked(c, pr, false)
			return append(p.othersLocked(c), twin)
		}
		// A peer that leaves with every piece most likely closed a connection it no longer
		// needs (libtorrent closes redundant ones once complete) and seeds on to the others:
		// what it has stays counted, or each completing listener would have the seeder offer
		// its pieces to everyone again. One that leaves short takes its pieces with it.
		p.dropLocked(c, pr, pr.nhas == len(pr.has))
		return p.othersLocked(c)
	})
}

// twinLocked returns another connection of c's peer (the same peer ID), if any.
func (p *seedPlan) twinLocked(c *seedConn, pr *planPeer) *seedConn {
	if pr.peerID == ([20]byte{}) {
		return nil
	}
	for o, op := range p.peers {
		if o != c && op.peerID == pr.peerID && !op.done && !op.seed {
			return o
		}
	}
	return nil
}

// dropLocked stops following c: its offers go back and, unless held, its pieces no longer
// count as held.
func (p *seedPlan) dropLocked(c *seedConn, pr *planPeer, held bool) {
	if !held {
		for i, ok := range pr.has {
			if ok {
				p.holders[i]--
			}
		}
	}
	p.releaseLocked(c, pr)
	delete(p.peers, c)
	if len(p.peers) == 0 {
		p.endLocked()
	}
}

func (p *seedPlan) releaseLocked(c *seedConn, pr *planPeer) []*seedConn {
	if len(pr.offered) == 0 {
		return nil
	}
	for i := range pr.offered {
		if p.owner[i] == c {
			p.owner[i] = nil
		}
		delete(pr.offered, i)
	}
	return p.roomLocked(c)
}

// roomLocked returns the peers (but not except) that could be offered more pieces.
func (p *seedPlan) roomLocked(except *seedConn) []*seedConn {
	var out []*seedConn
	for c, pr := range p.peers {
		if c != except && !pr.seed && len(pr.offered) < p.ahead {
			out = append(out, c)
		}
	}
	return out
}

func (p *seedPlan) othersLocked(except *seedConn) []*seedConn {
	var out []*seedConn
	for c := range p.peers {
		if c != except {
			out = append(out, c)
		}
	}
	return out
}

func kickAll(cs []*seedConn) {
	for _, c := range cs {
		go c.kick()
	}
}

func appendHave(b []byte, piece int) []byte {
	b = binary.BigEndian.AppendUint32(b, 5)
	b = append(b, byte(pp.Have))
	return binary.BigEndian.AppendUint32(b, uint32(piece))
}
