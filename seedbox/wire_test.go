package seedbox

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	pp "github.com/anacrolix/torrent/peer_protocol"
)

// wireMsg builds one length-prefixed peer message.
func wireMsg(typ pp.MessageType, body ...byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(body)))
	return append(append(b, byte(typ)), body...)
}

func pieceMsg(index, begin uint32, block []byte) []byte {
	body := binary.BigEndian.AppendUint32(nil, index)
	body = binary.BigEndian.AppendUint32(body, begin)
	return wireMsg(pp.Piece, append(body, block...)...)
}

// parsedMsg is a message read back from the rewritten stream.
type parsedMsg struct {
	typ  pp.MessageType // 255: keep-alive
	body []byte
}

func parseMsgs(t *testing.T, b []byte) []parsedMsg {
	t.Helper()
	var out []parsedMsg
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("stream ends inside a length prefix: %x", b)
		}
		n := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+n {
			t.Fatalf("stream ends inside a message of %d bytes", n)
		}
		if n == 0 {
			out = append(out, parsedMsg{typ: 255})
		} else {
			out = append(out, parsedMsg{typ: pp.MessageType(b[4]), body: b[5 : 4+n]})
		}
		b = b[4+n:]
	}
	return out
}

// rewriteThrough writes stream through a seedConn in random pieces, as the client's writer
// might, and returns what reached the other end.
func rewriteThrough(t *testing.T, is *initialSeeding, stream []byte, seed uint64) []byte {
	t.Helper()
	a, b := net.Pipe()
	got := make(chan []byte)
	go func() {
		all, _ := io.ReadAll(b)
		got <- all
	}()
	c := newSeedConn(a, is)
	r := rand.New(rand.NewPCG(seed, 1))
	for rest := stream; len(rest) > 0; {
		n := min(len(rest), 1+r.IntN(300))
		if w, err := c.Write(rest[:n]); err != nil || w != n {
			t.Fatalf("Write = %d, %v; want %d", w, err, n)
		}
		rest = rest[n:]
	}
	c.Close()
	select {
	case out := <-got:
		return out
	case <-time.After(10 * time.Second):
		t.Fatal("the pipe's reader did not finish")
		return nil
	}
}

// TestSeedConnRewritesTheSeedsAdvert: whatever the write boundaries, the MSE bytes and the
// handshake pass untouched, the seed's HAVE ALL becomes HAVE NONE followed by HAVEs for the
// pieces offered to this peer, every other message passes unchanged, and each piece fully sent
// brings a HAVE for the next piece not yet offered.
func TestSeedConnRewritesTheSeedsAdvert(t *testing.T) {
	const pieceLen, pieces = 256 << 10, 40 // more pieces than a peer is offered at once
	ih := [20]byte{1, 2, 3}
	junk := bytes.Repeat([]byte{0xa5, 0x5a, 0x13}, 111) // stands for an MSE handshake choosing plaintext
	hs := append([]byte(btProtocol), make([]byte, 8)...)
	hs = append(append(hs, ih[:]...), bytes.Repeat([]byte("p"), 20)...)
	block := bytes.Repeat([]byte{7}, pieceLen)
	var msgs [][]byte
	msgs = append(msgs, wireMsg(pp.Extended, 0, 'd', 'e'), wireMsg(pp.HaveAll), wireMsg(pp.Port, 0x1a, 0xe1),
		[]byte{0, 0, 0, 0}, wireMsg(pp.Unchoke))
	msgs = append(msgs, pieceMsg(0, 0, block[:pieceLen/2]), pieceMsg(0, pieceLen/2, block[pieceLen/2:]))
	msgs = append(msgs, pieceMsg(1, 0, block))
	stream := slices.Concat(append([][]byte{junk, hs}, msgs...)...)

	for seed := range uint64(20) {
		is := newInitialSeeding(time.Now, true)
		is.add(ih, nil, pieces*pieceLen, pieceLen)
		out := rewriteThrough(t, is, stream, seed)
		prefix := slices.Concat(junk, hs)
		if !bytes.HasPrefix(out, prefix) {
			t.Fatalf("seed %d: the bytes before the messages changed", seed)
		}
		got := parseMsgs(t, out[len(prefix):])
		var haves []uint32
		var types []pp.MessageType
		for _, m := range got {
			if m.typ == pp.Have {
				haves = append(haves, binary.BigEndian.Uint32(m.body))
				continue
			}
			types = append(types, m.typ)
		}
		ahead := newSeedPlan(pieces*pieceLen, pieceLen, true, time.Now).ahead
		want := []pp.MessageType{pp.Extended, pp.HaveNone, pp.Port, 255, pp.Unchoke, pp.Piece, pp.Piece, pp.Piece}
		if !slices.Equal(types, want) {
			t.Fatalf("seed %d: messages %v, want %v", seed, types, want)
		}
		// The first ahead pieces at once, then one more for each of the two pieces sent.
		var wantHaves []uint32
		for i := range uint32(ahead + 2) {
			wantHaves = append(wantHaves, i)
		}
		if !slices.Equal(haves, wantHaves) {
			t.Fatalf("seed %d: HAVEs %v, want %v", seed, haves, wantHaves)
		}
		if got[1].typ != pp.HaveNone || got[2].typ != pp.Have {
			t.Fatalf("seed %d: HAVE NONE must come where HAVE ALL was, then the HAVEs: %v", seed, got[:3])
		}
		var data []byte
		for _, m := range got {
			if m.typ == pp.Piece {
				data = append(data, m.body[8:]...)
			}
		}
		if !bytes.Equal(data, slices.Concat(block, block)) {
			t.Fatalf("seed %d: piece data changed", seed)
		}
	}
}

// TestSeedConnBitfieldAndPassThrough: a bitfield (a peer without the fast extension) becomes an
// empty one of the same length; a torrent without a plan and a stream with no plaintext
// handshake pass through byte for byte.
func TestSeedConnBitfieldAndPassThrough(t *testing.T) {
	ih := [20]byte{9}
	hs := append([]byte(btProtocol), make([]byte, 8)...)
	hs = append(append(hs, ih[:]...), bytes.Repeat([]byte("q"), 20)...)
	bf := wireMsg(pp.Bitfield, 0xff, 0xc0)
	stream := slices.Concat(hs, bf, wireMsg(pp.Unchoke))

	is := newInitialSeeding(time.Now, true)
	is.add(ih, nil, 10*16<<10, 16<<10)
	out := rewriteThrough(t, is, stream, 1)
	got := parseMsgs(t, out[len(hs):])
	if got[0].typ != pp.Bitfield || !bytes.Equal(got[0].body, []byte{0, 0}) {
		t.Fatalf("first message %v %x, want an empty bitfield of 2 bytes", got[0].typ, got[0].body)
	}
	if got[1].typ != pp.Have || got[len(got)-1].typ != pp.Unchoke {
		t.Fatalf("messages %v: want HAVEs after the bitfield, then the unchoke", got)
	}

	if out := rewriteThrough(t, newInitialSeeding(time.Now, true), stream, 2); !bytes.Equal(out, stream) {
		t.Fatal("a torrent without a plan: stream changed")
	}
	rc4 := bytes.Repeat([]byte{0x42}, scanLimit+500) // never shows the protocol string
	rc4 = append(rc4, bf...)
	if out := rewriteThrough(t, is, rc4, 3); !bytes.Equal(out, rc4) {
		t.Fatal("an unreadable stream: changed")
	}
}

// TestSeedConnTellsAStalledPeerWithoutAWrite: a peer that has got nothing for staleAfter is told
// of the pieces others hold even though the client writes nothing more to it (a seeder nobody
// asks for anything is silent): the plan's own once-a-second check wakes it.
func TestSeedConnTellsAStalledPeerWithoutAWrite(t *testing.T) {
	const pieceLen = 1 << 20 // ahead = 2 pieces
	var mu sync.Mutex
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ih := [20]byte{7}
	is := newInitialSeeding(clock, true)
	is.add(ih, nil, 4*pieceLen, pieceLen)

	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	hs := append([]byte(btProtocol), make([]byte, 8)...)
	hs = append(append(hs, ih[:]...), bytes.Repeat([]byte("p"), 20)...)
	haves := make(chan int, 16)
	go func() { // the peer: our handshake, then messages
		if _, err := io.ReadFull(b, make([]byte, len(hs))); err != nil {
			return
		}
		for {
			var n [4]byte
			if _, err := io.ReadFull(b, n[:]); err != nil {
				return
			}
			body := make([]byte, binary.BigEndian.Uint32(n[:]))
			if _, err := io.ReadFull(b, body); err != nil {
				return
			}
			if len(body) == 5 && pp.MessageType(body[0]) == pp.Have {
				haves <- int(binary.BigEndian.Uint32(body[1:]))
			}
		}
	}()
	c := newSeedConn(a, is)
	if _, err := c.Write(slices.Concat(hs, wireMsg(pp.HaveAll))); err != nil {
		t.Fatal(err)
	}
	next := func(what string) int {
		t.Helper()
		select {
		case i := <-haves:
			return i
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no HAVE within 10 s", what)
			return -1
		}
	}
	if got := []int{next("join"), next("join")}; !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("offered on joining: %v, want [0 1]", got)
	}
	// Another peer is offered 2 and 3 and gets them: c is not told of them, it can ask that peer.
	p := is.plan(ih)
	other := &seedConn{}
	p.join(other)
	p.sent(other, 2, pieceLen)
	p.sent(other, 3, pieceLen)
	select {
	case i := <-haves:
		t.Fatalf("HAVE %d before c stalled", i)
	default:
	}
	mu.Lock()
	now = now.Add(staleAfter)
	mu.Unlock()
	if got := []int{next("stalled"), next("stalled")}; !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("told once stalled, with no write from the client: %v, want [2 3]", got)
	}
}
