package seedbox

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"
)

// haveIndexes decodes a run of HAVE messages.
func haveIndexes(t *testing.T, b []byte) []int {
	t.Helper()
	var out []int
	for len(b) > 0 {
		if len(b) < 9 || binary.BigEndian.Uint32(b) != 5 || b[4] != 4 {
			t.Fatalf("not a HAVE: %x", b)
		}
		out = append(out, int(binary.BigEndian.Uint32(b[5:9])))
		b = b[9:]
	}
	return out
}

// TestSeedPlanOffersEachPieceToOnePeer walks a plan through a small crowd: pieces not yet sent
// go to one peer each, a leaver's offers and pieces go to the others, a latecomer after every piece has gone
// out once is told only of what no connected peer has, and a peer that gets nothing for
// staleAfter is told of everything.
func TestSeedPlanOffersEachPieceToOnePeer(t *testing.T) {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	const pieceLen = 1 << 20 // ahead = 2 pieces
	p := newSeedPlan(6*pieceLen, pieceLen, true, func() time.Time { return now })
	a, b, d := &seedConn{}, &seedConn{}, &seedConn{}
	want := func(what string, got []byte, idx ...int) {
		t.Helper()
		if g := haveIndexes(t, got); !slices.Equal(g, idx) && !(len(g) == 0 && len(idx) == 0) {
			t.Fatalf("%s: HAVEs %v, want %v", what, g, idx)
		}
	}
	want("a joins", p.join(a), 0, 1)
	want("b joins", p.join(b), 2, 3)
	now = now.Add(40 * time.Second) // the round will have taken 40 s: no reveal in this test
	if p.sent(a, 0, pieceLen/2) {
		t.Fatal("half a piece sent: refill due")
	}
	if !p.sent(a, 0, pieceLen/2) {
		t.Fatal("a whole piece sent: no refill due")
	}
	// A megabyte sent to a within the second: a is offered four times that ahead (4 pieces).
	h, _ := p.refill(a)
	want("a after piece 0", h, 4, 5)
	p.leave(a) // had 0; was offered 1, 4 and 5
	p.sent(b, 2, pieceLen)
	h, _ = p.refill(b)
	// a's offers go to b, and so does piece 0: it left the swarm with a.
	want("b after piece 2", h, 0, 1, 4, 5)
	for _, i := range []int{3, 1, 4, 5} {
		p.sent(b, i, pieceLen)
	}
	h, last := p.refill(b)
	want("b once every piece has gone out", h)
	if !last {
		t.Fatal("b has been told of every piece: rewriting should end")
	}
	// d arrives: b holds 1-5 (piece 0 it has not asked for yet), so d is told of 0 only.
	want("d joins after every piece went out once", p.join(d), 0)
	h, _ = p.refill(d)
	want("d", h)
	now = now.Add(staleAfter)
	h, last = p.refill(d)
	// Starved, d is told of what it lacks a window at a time (ahead = 2, piece 0 already told).
	want("d after staleAfter with nothing", h, 1)
	if last {
		t.Fatal("d starved: rewriting ended before it was told of every piece")
	}
	// Fed on as it gets them: a megabyte in its second, so four ahead.
	p.sent(d, 1, pieceLen)
	want("d after piece 1", mustRefill(t, p, d), 2, 3, 4)
	for _, i := range []int{0, 2, 3, 4} {
		p.sent(d, i, pieceLen)
	}
	h, last = p.refill(d)
	want("d after 0, 2, 3 and 4", h, 5)
	if !last {
		t.Fatal("d has been told of every piece: rewriting should end")
	}
}

// A starved peer is told first of the pieces the fewest peers hold: those the crowd can least
// give it.
func TestSeedPlanFeedsAStarvedPeerTheRarestPiecesFirst(t *testing.T) {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	const pieceLen = 1 << 20 // ahead = 2 pieces
	p := newSeedPlan(4*pieceLen, pieceLen, false, func() time.Time { return now })
	a, b, c := &seedConn{}, &seedConn{}, &seedConn{}
	p.join(a) // 0, 1
	p.join(b) // 2, 3
	now = now.Add(40 * time.Second)
	for _, i := range []int{0, 1} {
		p.sent(a, i, pieceLen)
		p.peerHas(b, i) // b gets them from a: b holds all four, a only 0 and 1
	}
	for _, i := range []int{2, 3} {
		p.sent(b, i, pieceLen)
	}
	if got := haveIndexes(t, p.join(c)); len(got) != 0 {
		t.Fatalf("c joins: HAVEs %v, want none (the crowd holds every piece)", got)
	}
	now = now.Add(staleAfter)
	if got := haveIndexes(t, mustRefill(t, p, c)); !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("c starved: HAVEs %v, want [2 3] (held by b alone)", got)
	}
}

// A peer offered every piece at once (a small file, or a fast peer whose offers grew to what was
// left) keeps them until they are sent: told of every piece is not done with them.
func TestSeedPlanKeepsAPeersOffersWhenItIsToldEverything(t *testing.T) {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	const pieceLen = 1 << 20 // ahead = 2 pieces: the whole file
	p := newSeedPlan(2*pieceLen, pieceLen, true, func() time.Time { return now })
	a, b := &seedConn{}, &seedConn{}
	if got := haveIndexes(t, p.join(a)); !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("a joins: HAVEs %v, want [0 1]", got)
	}
	if _, last := p.refill(a); last {
		t.Fatal("a still has pieces of its own to be sent: rewriting ended")
	}
	if got := haveIndexes(t, p.join(b)); len(got) != 0 {
		t.Fatalf("b joins: HAVEs %v, want none (both pieces are a's to pass on)", got)
	}
	p.sent(a, 0, pieceLen)
	if got := haveIndexes(t, mustRefill(t, p, b)); len(got) != 0 {
		t.Fatalf("b after a got piece 0: HAVEs %v, want none (a has it, a is offered 1)", got)
	}
	if !p.sent(a, 1, pieceLen) {
		t.Fatal("a's last piece sent: no refill due")
	}
	if _, last := p.refill(a); !last {
		t.Fatal("a has been sent its pieces: rewriting should end")
	}
}

func mustRefill(t *testing.T, p *seedPlan, c *seedConn) []byte {
	t.Helper()
	h, _ := p.refill(c)
	return h
}

// After every piece has gone out once, the crowd trades among itself for a quarter of the
// round's time; who is still short then is told of every piece, unless the reveal is off (the
// operator capped the seeder's upload). A peer that leaves complete still counts as holding its
// pieces (it seeds on; it only closed its connection to us).
func TestSeedPlanRevealsEverythingAQuarterRoundAfterTheFirstCopy(t *testing.T) {
	for _, reveals := range []bool{true, false} {
		now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
		const pieceLen = 1 << 20 // ahead = 2 pieces
		p := newSeedPlan(4*pieceLen, pieceLen, reveals, func() time.Time { return now })
		a, b := &seedConn{}, &seedConn{}
		p.join(a) // 0, 1
		p.join(b) // 2, 3
		now = now.Add(8 * time.Second)
		for _, i := range []int{0, 1} {
			p.sent(a, i, pieceLen)
		}
		for _, i := range []int{2, 3} {
			p.sent(b, i, pieceLen)
			p.peerHas(a, i) // a gets 2 and 3 from b: a is complete
		}
		if got := haveIndexes(t, mustRefill(t, p, b)); len(got) != 0 {
			t.Fatalf("b right after the first copy: HAVEs %v, want none (a has 0 and 1)", got)
		}
		p.leave(a) // complete: libtorrent closes a redundant connection and seeds on
		now = now.Add(2*time.Second - time.Millisecond)
		if got := haveIndexes(t, mustRefill(t, p, b)); len(got) != 0 {
			t.Fatalf("b just before the reveal, a gone complete: HAVEs %v, want none", got)
		}
		late := &seedConn{}
		p.join(late)
		now = now.Add(time.Millisecond)
		if got := haveIndexes(t, mustRefill(t, p, late)); len(got) != 0 {
			t.Fatalf("a peer that came after the first copy, at the reveal: HAVEs %v, want none (the crowd holds every piece)", got)
		}
		h, last := p.refill(b)
		if !reveals {
			if got := haveIndexes(t, h); len(got) != 0 || last {
				t.Fatalf("reveal off: b told %v (last %v) a quarter round later, want nothing", got, last)
			}
			continue
		}
		if got := haveIndexes(t, h); !slices.Equal(got, []int{0, 1}) {
			t.Fatalf("b a quarter of the 8 s round later: HAVEs %v, want [0 1]", got)
		}
		if !last {
			t.Fatal("b has been told of every piece: rewriting should end")
		}
	}
}

// A fast peer's offers grow with what it takes, but while others wait they stop at its share of
// what is still to go out once: the first copy is spread over the crowd, which trades it. Alone,
// it is held to no share.
func TestSeedPlanHoldsAFastPeerToItsShareOfTheFirstCopy(t *testing.T) {
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	const pieceLen = 1 << 20 // ahead = 2 pieces
	p := newSeedPlan(12*pieceLen, pieceLen, true, func() time.Time { return now })
	a, b, c := &seedConn{}, &seedConn{}, &seedConn{}
	p.join(a) // 0, 1
	p.join(b) // 2, 3
	p.join(c) // 4, 5
	p.sent(a, 0, pieceLen)
	p.sent(a, 1, pieceLen)
	// 2 MiB in its first second: four times that is 8 pieces, but 10 are left to go out once
	// among three peers: a's share is 4.
	if got := haveIndexes(t, mustRefill(t, p, a)); !slices.Equal(got, []int{6, 7, 8, 9}) {
		t.Fatalf("fast a among three: HAVEs %v, want [6 7 8 9]", got)
	}
	p.leave(b)
	p.leave(c)
	// Alone, a takes as many as its rate asks for: 8 offered, 4 of them new.
	if got := haveIndexes(t, mustRefill(t, p, a)); !slices.Equal(got, []int{2, 3, 4, 5}) {
		t.Fatalf("fast a alone: HAVEs %v, want [2 3 4 5]", got)
	}
}
