//go:build !amd64 || purego

package piecehash

const haveAVX512 = false

func blocks16(state *[5][16]uint32, ptrs *[16]*byte, nblocks int) {
	panic("piecehash: no multi-buffer kernel on this architecture")
}
