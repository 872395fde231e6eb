//go:build amd64 && !purego

package piecehash

import "golang.org/x/sys/cpu"

// The kernel uses 512-bit integer ops (AVX-512F) and VPSHUFB on zmm (AVX-512BW); x/sys/cpu
// reports them only when the OS also saves the zmm registers.
var haveAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW

// blocks16 runs SHA-1's block function over nblocks consecutive 64-byte blocks of each of 16
// messages, lane i reading from ptrs[i]. state[j][i] is word j of lane i's state. ptrs is not
// changed.
//
//go:noescape
func blocks16(state *[5][16]uint32, ptrs *[16]*byte, nblocks int)
