package seedbox

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

var update = flag.Bool("update", false, "rewrite golden files")

// hybridCases are file sizes and piece lengths that reach every shape of BEP 52 tree: one short
// block, one piece of a few blocks (padded to a power of two), exactly one piece, a last piece
// and block both short, a piece count that is not a power of two, and whole pieces only.
var hybridCases = []struct {
	size        int
	pieceLength int64
}{
	{5000, 16 << 10},
	{100_000, 256 << 10},
	{256 << 10, 256 << 10},
	{5*(32<<10) + 12345, 32 << 10},
	{3*(256<<10) + 1, 256 << 10},
	{4 * (64 << 10), 64 << 10},
	{11<<20 + 7, 1 << 20},
}

// referenceMerkle computes the tree from the whole file the simplest way: every 16 KiB block
// hashed, zero leaves up to a power of two, pairs hashed up to the root; the piece layer is the
// level whose nodes each cover one piece.
func referenceMerkle(data []byte, pieceLength int64) Merkle {
	var level [][32]byte
	for off := 0; off < len(data); off += blockSize {
		level = append(level, sha256.Sum256(data[off:min(off+blockSize, len(data))]))
	}
	for len(level)&(len(level)-1) != 0 {
		level = append(level, [32]byte{})
	}
	multiPiece := int64(len(data)) > pieceLength
	if multiPiece {
		// At least one piece's worth of leaves, so that the piece level exists.
		for int64(len(level))*blockSize < 2*pieceLength {
			level = append(level, make([][32]byte, len(level))...)
		}
	}
	var layer []byte
	for span := int64(blockSize); ; span *= 2 {
		if multiPiece && span == pieceLength {
			numPieces := (int64(len(data)) + pieceLength - 1) / pieceLength
			for _, h := range level[:numPieces] {
				layer = append(layer, h[:]...)
			}
		}
		if len(level) == 1 {
			return Merkle{Root: level[0], PieceLayer: layer}
		}
		next := make([][32]byte, len(level)/2)
		for i := range next {
			next[i] = sha256.Sum256(append(level[2*i][:], level[2*i+1][:]...))
		}
		level = next
	}
}

// TestMerkleStreaming: the tree built as bytes stream by, in writes of awkward sizes, through
// Fetch's copy ring, and through HashFileV2's parallel reads, equals the reference tree.
func TestMerkleStreaming(t *testing.T) {
	for i, c := range hybridCases {
		t.Run(fmt.Sprintf("%d/%d", c.size, c.pieceLength), func(t *testing.T) {
			dir := t.TempDir()
			path, data := writeRandomFile(t, dir, "ep.mp3", c.size, uint64(700+i))
			want := referenceMerkle(data, c.pieceLength)

			lh := newLeafHasher(c.pieceLength)
			for off, step := 0, 1; off < len(data); off, step = off+step, step*3+1 {
				lh.Write(data[off:min(off+step, len(data))])
			}
			got, err := lh.finish()
			if err != nil {
				t.Fatal(err)
			}
			checkMerkle(t, "odd writes", got, want)

			h := newPieceHasher(c.pieceLength)
			lh = newLeafHasher(c.pieceLength)
			if _, err := copyLimited(io.Discard, h, sha256.New(), lh, iotest.HalfReader(bytes.NewReader(data)), 1<<30); err != nil {
				t.Fatal(err)
			}
			if got, err = lh.finish(); err != nil {
				t.Fatal(err)
			}
			checkMerkle(t, "copyLimited", got, want)

			pieces, m, err := HashFileV2(t.Context(), path, c.pieceLength, 2)
			if err != nil {
				t.Fatal(err)
			}
			checkMerkle(t, "HashFileV2", *m, want)
			if !bytes.Equal(pieces, referencePieces(t, path, c.pieceLength)) {
				t.Fatal("HashFileV2: v1 pieces differ from GeneratePieces")
			}
		})
	}
}

func checkMerkle(t *testing.T, who string, got, want Merkle) {
	t.Helper()
	if got.Root != want.Root {
		t.Errorf("%s: root %x, want %x", who, got.Root, want.Root)
	}
	if !bytes.Equal(got.PieceLayer, want.PieceLayer) {
		t.Errorf("%s: piece layer of %d bytes differs from the reference's %d", who, len(got.PieceLayer), len(want.PieceLayer))
	}
}

// TestHybridMatchesLibtorrent: for the same bytes and piece length, our hybrid torrent has the
// info dictionary (so both info hashes) and piece layers that libtorrent 2.0 makes, from a
// download hashed as it streamed in.
func TestHybridMatchesLibtorrent(t *testing.T) {
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import libtorrent").Run(); err != nil {
		t.Skipf("python3-libtorrent not installed: %v", err)
	}
	for i, c := range hybridCases {
		t.Run(fmt.Sprintf("%d/%d", c.size, c.pieceLength), func(t *testing.T) {
			dir := t.TempDir()
			data := randomBytes(c.size, uint64(900+i))
			srv := origin(t, data)
			path := filepath.Join(dir, "Episode 1.mp3")
			d, err := Fetch(t.Context(), srv.Client(), srv.URL+"/ep.mp3", path, FetchOptions{PieceLength: c.pieceLength, V2: true})
			if err != nil {
				t.Fatal(err)
			}
			ours, err := BuildMetaInfo(d, MetaOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "lt.torrent")
			cmd := exec.CommandContext(t.Context(), python, "testdata/lt_create.py", path, fmt.Sprint(c.pieceLength), out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("lt_create.py: %v\n%s", err, b)
			}
			ref, err := metainfo.LoadFromFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if sha1.Sum(ours.InfoBytes) != sha1.Sum(ref.InfoBytes) {
				t.Errorf("v1 info hash %x, libtorrent's %x", sha1.Sum(ours.InfoBytes), sha1.Sum(ref.InfoBytes))
			}
			v2, ok := InfoHashV2(ours)
			if !ok || v2 != sha256.Sum256(ref.InfoBytes) {
				t.Errorf("v2 info hash %x (%v), libtorrent's %x", v2, ok, sha256.Sum256(ref.InfoBytes))
			}
			if !bytes.Equal(ours.InfoBytes, ref.InfoBytes) {
				t.Errorf("info dictionaries differ:\nours %q\nlibtorrent %q", ours.InfoBytes, ref.InfoBytes)
			}
			if !maps.Equal(ours.PieceLayers, ref.PieceLayers) {
				t.Errorf("piece layers differ: %d entries vs libtorrent's %d", len(ours.PieceLayers), len(ref.PieceLayers))
			}
			info, err := ours.UnmarshalInfo()
			if err != nil {
				t.Fatal(err)
			}
			if err := metainfo.ValidatePieceLayers(ours.PieceLayers, &info.FileTree, info.PieceLength); err != nil {
				t.Errorf("anacrolix refuses our piece layers: %v", err)
			}
		})
	}
}

// TestHybridGolden pins the bytes of one small hybrid .torrent (run with -update to rewrite).
func TestHybridGolden(t *testing.T) {
	dir := t.TempDir()
	path, _ := writeRandomFile(t, dir, "episode.mp3", 3*(32<<10)+999, 42)
	pieces, m, err := HashFileV2(t.Context(), path, 32<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	mi, err := BuildMetaInfo(Download{Path: path, Size: 3*(32<<10) + 999, PieceLength: 32 << 10, Pieces: pieces, Merkle: m},
		MetaOptions{AnnounceList: [][]string{{"http://127.0.0.1:8080/announce"}}, WebSeeds: []string{"http://127.0.0.1:9/episode.mp3"},
			CreatedBy: "seedcast test"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "hybrid.torrent.golden")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("hybrid torrent differs from %s (run with -update after checking why)", golden)
	}
}

// TestV1InfoUnchanged: a v1 torrent's info dictionary is encoded as it always was, so torrents
// made again from their media keep their info hash.
func TestV1InfoUnchanged(t *testing.T) {
	dir := t.TempDir()
	path, _ := writeRandomFile(t, dir, "episode.mp3", 300_000, 7)
	pieces, err := HashFile(t.Context(), path, 256<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	mi, err := BuildMetaInfo(Download{Path: path, Size: 300_000, PieceLength: 256 << 10, Pieces: pieces}, MetaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := bencode.Marshal(metainfo.Info{Name: "episode.mp3", Length: 300_000, PieceLength: 256 << 10, Pieces: pieces})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mi.InfoBytes, want) {
		t.Fatalf("v1 info\n%q, want\n%q", mi.InfoBytes, want)
	}
	if _, ok := InfoHashV2(mi); ok {
		t.Fatal("a v1 torrent has a v2 info hash")
	}
}

// TestBuildHybridRefuses: a v2 tree that does not fit the file (piece layer of the wrong size, a
// layer for a one-piece file) or a piece length v2 cannot use is refused, not published.
func TestBuildHybridRefuses(t *testing.T) {
	dir := t.TempDir()
	path, _ := writeRandomFile(t, dir, "episode.mp3", 3*(32<<10)+5, 3)
	pieces, m, err := HashFileV2(t.Context(), path, 32<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	d := Download{Path: path, Size: 3*(32<<10) + 5, PieceLength: 32 << 10, Pieces: pieces}
	short := Merkle{Root: m.Root, PieceLayer: m.PieceLayer[:64]}
	d.Merkle = &short
	if _, err := BuildMetaInfo(d, MetaOptions{}); err == nil {
		t.Error("a piece layer one piece short was accepted")
	}
	small, _ := writeRandomFile(t, dir, "small.mp3", 1000, 4)
	sp, sm, err := HashFileV2(t.Context(), small, 32<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	sm.PieceLayer = make([]byte, 32)
	if _, err := BuildMetaInfo(Download{Path: small, Size: 1000, PieceLength: 32 << 10, Pieces: sp, Merkle: sm}, MetaOptions{}); err == nil {
		t.Error("a piece layer for a one-piece file was accepted")
	}
	if _, _, err := HashFileV2(t.Context(), path, 48<<10, 0); err == nil {
		t.Error("HashFileV2 took a piece length that is not a power of two")
	}
}
