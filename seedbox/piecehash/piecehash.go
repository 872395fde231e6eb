// Package piecehash computes BitTorrent v1 piece hashes (SHA-1) of many pieces at once. On amd64
// with AVX-512 it hashes 16 equal-length pieces in parallel, one per 32-bit lane of the zmm
// registers, which beats one-at-a-time SHA-NI because the pieces are independent; elsewhere, and
// with the purego build tag (for testing), it is crypto/sha1.
package piecehash

import (
	"cmp"
	"crypto/sha1"
	"encoding/binary"
	"hash"
	"slices"
)

const lanes = 16

// minLanes is the smallest batch worth the 16-lane kernel, measured with BenchmarkBreakEven:
// 3 lanes tie with crypto/sha1 on Zen 5, 4 win by 40%.
const minLanes = 4

// maxBlocksPerCall bounds one assembly call (64 KiB per lane) so that the goroutine, which
// cannot be preempted inside it, gets back to a safe point every ~100-200µs.
const maxBlocksPerCall = 1024

// wide is whether Sum uses the 16-lane kernel: a CPU capability, fixed at start.
var wide = haveAVX512

// Lanes is how many pieces Sum hashes in parallel: 16 with the AVX-512 kernel, else 1. Callers
// that can choose their batch size should pass multiples of it.
func Lanes() int {
	if wide {
		return lanes
	}
	return 1
}

// Sum sets out[i] to the SHA-1 of pieces[i]. It panics unless len(out) == len(pieces). Pieces of
// equal length that is a multiple of 64 bytes are hashed 16 at a time when the CPU allows; any
// other piece (such as a file's short last piece) is hashed on its own.
func Sum(pieces [][]byte, out [][20]byte) {
	sum(pieces, out, wide)
}

// sum is Sum with the kernel choice made by the caller, so tests can cover both paths.
func sum(pieces [][]byte, out [][20]byte, useWide bool) {
	if len(out) != len(pieces) {
		panic("piecehash: len(out) != len(pieces)")
	}
	if !useWide {
		for i, p := range pieces {
			out[i] = sha1.Sum(p)
		}
		return
	}
	// Indexes of the pieces the kernel can take, sorted by length so equal lengths are adjacent.
	var buf [64]int
	idx := buf[:0]
	for i, p := range pieces {
		if len(p) > 0 && len(p)%64 == 0 {
			idx = append(idx, i)
		} else {
			out[i] = sha1.Sum(p)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(len(pieces[a]), len(pieces[b])) })
	var (
		h      Hasher
		batch  [lanes][]byte
		hashes [lanes][20]byte
	)
	for len(idx) > 0 {
		n := 1
		for n < len(idx) && n < lanes && len(pieces[idx[n]]) == len(pieces[idx[0]]) {
			n++
		}
		if n < minLanes {
			for _, i := range idx[:n] {
				out[i] = sha1.Sum(pieces[i])
			}
			idx = idx[n:]
			continue
		}
		for k, i := range idx[:n] {
			batch[k] = pieces[i]
		}
		h.reset(n, true)
		h.Write(batch[:n])
		h.Sum(hashes[:n])
		for k, i := range idx[:n] {
			out[i] = hashes[k]
		}
		idx = idx[n:]
	}
}

// Hasher computes the SHA-1 of up to 16 pieces of one length that arrive in chunks, so that long
// pieces can be hashed together through a small buffer that stays in cache. The zero value is
// ready for Reset.
type Hasher struct {
	n       int
	wide    bool // the kernel, else digests
	written int  // bytes of each piece so far
	state   [5][lanes]uint32
	digests [lanes]hash.Hash
}

// Reset starts n new pieces, 1 <= n <= 16; Lanes() is the number that pays off.
func (h *Hasher) Reset(n int) {
	// The kernel costs the same however many of its lanes are real: below minLanes, crypto/sha1
	// (SHA-NI) on each piece is faster.
	h.reset(n, wide && n >= minLanes)
}

// reset is Reset with the kernel choice made by the caller.
func (h *Hasher) reset(n int, useWide bool) {
	if n < 1 || n > lanes {
		panic("piecehash: Hasher.Reset: bad piece count")
	}
	h.n, h.wide, h.written = n, useWide, 0
	if h.wide {
		for j, v := range [5]uint32{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0} {
			for i := range lanes {
				h.state[j][i] = v
			}
		}
		return
	}
	for i := range n {
		if h.digests[i] == nil {
			h.digests[i] = sha1.New()
		} else {
			h.digests[i].Reset()
		}
	}
}

// Write hashes the next chunk of every piece: chunks[i] continues piece i. There must be one
// chunk per piece, all of the same length, a multiple of 64 bytes (checked on every CPU, so that
// a caller that works on one works on all).
func (h *Hasher) Write(chunks [][]byte) {
	if h.n == 0 || len(chunks) != h.n {
		panic("piecehash: Hasher.Write: want one chunk per piece since Reset")
	}
	l := len(chunks[0])
	for _, c := range chunks {
		if len(c) != l || l%64 != 0 {
			panic("piecehash: Hasher.Write: chunks must have one length, a multiple of 64")
		}
	}
	h.written += l
	if !h.wide {
		for i, c := range chunks {
			h.digests[i].Write(c)
		}
		return
	}
	var ptrs [lanes]*byte
	for off := 0; off < l; off += 64 * maxBlocksPerCall {
		// Spare lanes hash the last piece again; their results are never read.
		for i := range lanes {
			ptrs[i] = &chunks[min(i, h.n-1)][off]
		}
		blocks16(&h.state, &ptrs, min(l-off, 64*maxBlocksPerCall)/64)
	}
}

// Sum sets out[i] to the SHA-1 of piece i, which ends with the last chunk written. The Hasher
// must be Reset before it is used again.
func (h *Hasher) Sum(out [][20]byte) {
	if len(out) != h.n {
		panic("piecehash: Hasher.Sum: want one output per piece")
	}
	if !h.wide {
		for i := range out {
			// Sum(nil), not Sum(out[i][:0]), so that out does not escape on the kernel path.
			out[i] = [20]byte(h.digests[i].Sum(nil))
		}
		return
	}
	// Every piece has the same length, a multiple of 64, so every lane's padding is this block.
	var pad [64]byte
	pad[0] = 0x80
	binary.BigEndian.PutUint64(pad[56:], uint64(h.written)*8)
	var ptrs [lanes]*byte
	for i := range lanes {
		ptrs[i] = &pad[0]
	}
	blocks16(&h.state, &ptrs, 1)
	for i := range out {
		for j := range 5 {
			binary.BigEndian.PutUint32(out[i][4*j:], h.state[j][i])
		}
	}
}
