package piecehash

import (
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"testing"
)

// paths are the implementations the host can run: always crypto/sha1, plus the kernel when the
// CPU has it (Sum picks it then, so it must be right).
func paths(t testing.TB) []bool {
	if !haveAVX512 {
		t.Log("no AVX-512 kernel (CPU or purego tag): only the crypto/sha1 path is tested")
		return []bool{false}
	}
	return []bool{false, true}
}

func check(t *testing.T, pieces [][]byte, useWide bool, what string) {
	t.Helper()
	out := make([][20]byte, len(pieces))
	sum(pieces, out, useWide)
	for i, p := range pieces {
		if want := sha1.Sum(p); out[i] != want {
			t.Fatalf("%s wide=%v: piece %d of %d (len %d): got %x, want %x",
				what, useWide, i, len(pieces), len(p), out[i], want)
		}
	}
}

// randomPieces returns pieces with the given lengths and random contents, carved at random
// (often unaligned) offsets out of one buffer, as a file read would be.
func randomPieces(r *rand.Rand, lengths []int) [][]byte {
	total := 0
	for _, l := range lengths {
		total += l + 63
	}
	buf := make([]byte, total)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	pieces := make([][]byte, len(lengths))
	off := 0
	for i, l := range lengths {
		off += r.IntN(64)
		pieces[i] = buf[off : off+l : off+l]
		off += l
	}
	return pieces
}

func TestSumMatchesSHA1(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	equal := []int{64, 128, 16 << 10, 256 << 10, 1 << 20}
	odd := []int{0, 1, 55, 56, 63, 65, 119, 120, 127, 64*1000 + 1}
	for iter := range 300 {
		n := 1 + r.IntN(40)
		lengths := make([]int, n)
		var what string
		switch iter % 3 {
		case 0: // all equal, the shape of a file's full pieces
			l := equal[r.IntN(len(equal))]
			if l == 1<<20 {
				n = min(n, 20) // keep the test quick
				lengths = lengths[:n]
			}
			for i := range lengths {
				lengths[i] = l
			}
			what = fmt.Sprintf("%d x %d", n, l)
		case 1: // nothing the kernel can take
			for i := range lengths {
				lengths[i] = odd[r.IntN(len(odd))]
			}
			what = "odd lengths"
		case 2: // equal runs of two lengths, multiples of 64 that are not, and a short last piece
			a, b := 64*(1+r.IntN(300)), 64*(1+r.IntN(4))
			for i := range lengths {
				switch r.IntN(5) {
				case 0, 1:
					lengths[i] = a
				case 2:
					lengths[i] = b
				case 3:
					lengths[i] = 64 * r.IntN(20)
				default:
					lengths[i] = odd[r.IntN(len(odd))]
				}
			}
			lengths[n-1] = r.IntN(a)
			what = "mixed lengths"
		}
		pieces := randomPieces(r, lengths)
		for _, w := range paths(t) {
			check(t, pieces, w, what)
		}
	}
}

// TestHasher feeds pieces in chunks of varying (equal across pieces) size, for every piece count,
// forcing the kernel even where Reset would not use it so that partial batches are covered.
func TestHasher(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h Hasher
	for _, w := range paths(t) {
		for n := 1; n <= lanes; n++ {
			for _, l := range []int{0, 64, 64 * 3, 64 * (maxBlocksPerCall + 5)} {
				lengths := make([]int, n)
				for i := range lengths {
					lengths[i] = l
				}
				pieces := randomPieces(r, lengths)
				h.reset(n, w)
				chunks := make([][]byte, n)
				for off := 0; off < l; {
					c := min(64*r.IntN(2*maxBlocksPerCall), l-off) // sometimes 0
					for i, p := range pieces {
						chunks[i] = p[off : off+c]
					}
					h.Write(chunks)
					off += c
				}
				out := make([][20]byte, n)
				h.Sum(out)
				for i, p := range pieces {
					if want := sha1.Sum(p); out[i] != want {
						t.Fatalf("wide=%v, %d pieces of %d bytes: piece %d: got %x, want %x",
							w, n, l, i, out[i], want)
					}
				}
			}
		}
	}
}

func TestHasherRejects(t *testing.T) {
	cases := map[string]func(h *Hasher){
		"no reset":     func(h *Hasher) { h.Write(nil) },
		"zero pieces":  func(h *Hasher) { h.Reset(0) },
		"17 pieces":    func(h *Hasher) { h.Reset(17) },
		"chunk count":  func(h *Hasher) { h.Reset(2); h.Write(make([][]byte, 3)) },
		"unequal":      func(h *Hasher) { h.Reset(2); h.Write([][]byte{make([]byte, 64), make([]byte, 128)}) },
		"not 64":       func(h *Hasher) { h.Reset(1); h.Write([][]byte{make([]byte, 65)}) },
		"output count": func(h *Hasher) { h.Reset(2); h.Sum(make([][20]byte, 1)) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f(new(Hasher))
		}()
	}
}

func TestSumLengthMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	Sum(make([][]byte, 2), make([][20]byte, 1))
}

func TestLanes(t *testing.T) {
	if want := map[bool]int{true: 16, false: 1}[haveAVX512]; Lanes() != want {
		t.Errorf("Lanes() = %d with haveAVX512 = %v", Lanes(), haveAVX512)
	}
}

// FuzzSum reads data as: a piece count byte, then two bytes per piece (a length byte L and a
// start byte S), then a body. Piece length is L when L < 128, else (L-127)*64 so that runs of
// kernel-sized pieces are cheap to reach; its contents are the body repeated from offset S.
func FuzzSum(f *testing.F) {
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{3, 1, 0, 55, 1, 56, 2, 'a', 'b', 'c'})
	sixteen := []byte{16}
	for i := range 16 {
		sixteen = append(sixteen, 128, byte(i))
	}
	f.Add(append(sixteen, "the quick brown fox"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		n := int(data[0]) % 41
		data = data[1:]
		if len(data) < 2*n {
			return
		}
		header, body := data[:2*n], data[2*n:]
		if len(body) == 0 {
			body = []byte{0}
		}
		pieces := make([][]byte, n)
		for i := range pieces {
			l, s := int(header[2*i]), int(header[2*i+1])
			if l >= 128 {
				l = (l - 127) * 64
			}
			p := make([]byte, l)
			for j := range p {
				p[j] = body[(s+j)%len(body)]
			}
			pieces[i] = p
		}
		for _, w := range paths(t) {
			check(t, pieces, w, "fuzz")
		}
	})
}

func benchPieces(b *testing.B, n, l int) [][]byte {
	lengths := make([]int, n)
	for i := range lengths {
		lengths[i] = l
	}
	return randomPieces(rand.New(rand.NewPCG(5, 6)), lengths)
}

// BenchmarkSum compares the kernel with crypto/sha1 on a full batch of file-sized pieces.
func BenchmarkSum(b *testing.B) {
	for _, impl := range []struct {
		name string
		wide bool
	}{{"avx512", true}, {"sha1", false}} {
		for _, l := range []int{1 << 20, 256 << 10} {
			b.Run(fmt.Sprintf("%s/%dKiB", impl.name, l>>10), func(b *testing.B) {
				if impl.wide && !haveAVX512 {
					b.Skip("no AVX-512 on this CPU")
				}
				pieces := benchPieces(b, lanes, l)
				out := make([][20]byte, len(pieces))
				b.SetBytes(int64(lanes * l))
				for b.Loop() {
					sum(pieces, out, impl.wide)
				}
			})
		}
	}
}

// BenchmarkBreakEven times a batch of n lanes through the kernel and through crypto/sha1: the
// smallest n where the kernel's MB/s is higher is what minLanes should be.
func BenchmarkBreakEven(b *testing.B) {
	if !haveAVX512 {
		b.Skip("no AVX-512 on this CPU")
	}
	const l = 256 << 10
	for n := 1; n <= 8; n++ {
		pieces := benchPieces(b, n, l)
		out := make([][20]byte, n)
		b.Run(fmt.Sprintf("lanes=%d/avx512", n), func(b *testing.B) {
			var h Hasher
			b.SetBytes(int64(n * l))
			for b.Loop() {
				h.reset(n, true)
				h.Write(pieces)
				h.Sum(out)
			}
		})
		b.Run(fmt.Sprintf("lanes=%d/sha1", n), func(b *testing.B) {
			b.SetBytes(int64(n * l))
			for b.Loop() {
				sum(pieces, out, false)
			}
		})
	}
}
