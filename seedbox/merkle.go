package seedbox

import (
	"crypto/sha256"
	"errors"

	"github.com/anacrolix/torrent/metainfo"
)

// blockSize is BEP 52's merkle leaf: the tree of a v2 torrent's file is built over the SHA-256 of
// each 16 KiB block (the file's last block may be short and is hashed as it is).
const blockSize = 16 << 10

// Merkle is what a v2 (or hybrid) torrent needs of a file besides its length.
type Merkle struct {
	Root [32]byte // the file's "pieces root"
	// PieceLayer is the root of each piece's subtree, 32 bytes a piece, the last piece's subtree
	// padded with zero leaves to a whole piece. Nil when the file is no longer than one piece:
	// BEP 52 leaves such a file out of "piece layers", its root being enough.
	PieceLayer []byte
}

// merkleBuilder folds a file's block hashes, in order, into piece roots as each piece completes,
// so a file of any size holds at most one piece's leaves.
type merkleBuilder struct {
	leavesPerPiece int
	leaves         [][32]byte // of the current piece
	layer          [][32]byte // roots of the pieces so far
}

func newMerkleBuilder(pieceLength int64) *merkleBuilder {
	n := int(pieceLength / blockSize)
	return &merkleBuilder{leavesPerPiece: n, leaves: make([][32]byte, 0, n)}
}

func (m *merkleBuilder) add(leaf [32]byte) {
	m.leaves = append(m.leaves, leaf)
	if len(m.leaves) == m.leavesPerPiece {
		m.layer = append(m.layer, merkleRoot(m.leaves, m.leavesPerPiece, [32]byte{}))
		m.leaves = m.leaves[:0]
	}
}

// finish returns the file's tree. BEP 52 pads the leaves to a power of two with zero hashes: a
// file within one piece gets the smallest such tree over its own blocks; a longer one pads its
// last piece to a whole piece and the piece layer with the roots of all-zero pieces.
func (m *merkleBuilder) finish() (Merkle, error) {
	if len(m.layer) == 0 || (len(m.layer) == 1 && len(m.leaves) == 0) {
		if len(m.layer) == 1 {
			return Merkle{Root: m.layer[0]}, nil
		}
		if len(m.leaves) == 0 {
			return Merkle{}, errors.New("merkle tree of an empty file")
		}
		return Merkle{Root: merkleRoot(m.leaves, nextPow2(len(m.leaves)), [32]byte{})}, nil
	}
	if len(m.leaves) > 0 {
		m.layer = append(m.layer, merkleRoot(m.leaves, m.leavesPerPiece, [32]byte{}))
		m.leaves = m.leaves[:0]
	}
	layer := make([]byte, 0, 32*len(m.layer))
	for _, h := range m.layer {
		layer = append(layer, h[:]...)
	}
	pad := merkleRoot(nil, m.leavesPerPiece, [32]byte{})
	return Merkle{Root: merkleRoot(m.layer, nextPow2(len(m.layer)), pad), PieceLayer: layer}, nil
}

// merkleRoot is the root of a tree width nodes wide (a power of two) whose first nodes are level
// and whose others are pad. It works on a copy, so level is left as it was.
func merkleRoot(level [][32]byte, width int, pad [32]byte) [32]byte {
	cur := append([][32]byte(nil), level...)
	for ; width > 1; width /= 2 {
		for i := 0; i < len(cur); i += 2 {
			right := pad
			if i+1 < len(cur) {
				right = cur[i+1]
			}
			cur[i/2] = hashPair(cur[i], right)
		}
		cur = cur[:(len(cur)+1)/2]
		pad = hashPair(pad, pad)
	}
	if len(cur) == 0 {
		return pad
	}
	return cur[0]
}

func hashPair(a, b [32]byte) [32]byte {
	var buf [64]byte
	copy(buf[:32], a[:])
	copy(buf[32:], b[:])
	return sha256.Sum256(buf[:])
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// leafHasher is the streaming side of v2 hashing: fed the file's bytes in order, in writes of
// any size, it hashes each 16 KiB block into a merkleBuilder.
type leafHasher struct {
	m    *merkleBuilder
	part []byte // a block begun by one write and not yet completed
}

func newLeafHasher(pieceLength int64) *leafHasher {
	return &leafHasher{m: newMerkleBuilder(pieceLength)}
}

func (h *leafHasher) Write(p []byte) (int, error) {
	n := len(p)
	if len(h.part) > 0 {
		c := min(blockSize-len(h.part), len(p))
		h.part = append(h.part, p[:c]...)
		p = p[c:]
		if len(h.part) < blockSize {
			return n, nil
		}
		h.m.add(sha256.Sum256(h.part))
		h.part = h.part[:0]
	}
	for len(p) >= blockSize {
		h.m.add(sha256.Sum256(p[:blockSize]))
		p = p[blockSize:]
	}
	if len(p) > 0 {
		if h.part == nil {
			h.part = make([]byte, 0, blockSize)
		}
		h.part = append(h.part, p...)
	}
	return n, nil
}

// finish hashes the short last block, if any, and returns the tree.
func (h *leafHasher) finish() (Merkle, error) {
	if len(h.part) > 0 {
		h.m.add(sha256.Sum256(h.part))
		h.part = h.part[:0]
	}
	return h.m.finish()
}

// InfoHashV2 is the v2 info hash of a v2 or hybrid torrent, the SHA-256 of its info dictionary
// (magnets carry it as btmh; trackers see its first 20 bytes), and false for a v1-only torrent.
func InfoHashV2(mi *metainfo.MetaInfo) ([32]byte, bool) {
	info, err := mi.UnmarshalInfo()
	if err != nil || !info.HasV2() {
		return [32]byte{}, false
	}
	return sha256.Sum256(mi.InfoBytes), true
}
