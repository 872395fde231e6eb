package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

// requirePeer finds a Debian tool; CI sets SEEDCAST_REQUIRE_PEERS=1 so a missing one fails there.
func requirePeer(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SEEDCAST_REQUIRE_PEERS") != "" {
			t.Fatalf("%s not installed (SEEDCAST_REQUIRE_PEERS is set)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func writeRandom(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{7})
	r.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadInfo(t *testing.T, path string) (*metainfo.MetaInfo, metainfo.Info) {
	t.Helper()
	mi, err := metainfo.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	return mi, info
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestTorrentCreateMatchesMktorrent checks the piece hashes against mktorrent's for the same
// piece length, with a short last piece, and the rest of the metainfo against the flags.
func TestTorrentCreateMatchesMktorrent(t *testing.T) {
	mk := requirePeer(t, "mktorrent")
	dir := t.TempDir()
	file := filepath.Join(dir, "episode.mp3")
	writeRandom(t, file, 5<<20+12345)

	ours := filepath.Join(dir, "ours.torrent")
	code, stdout, stderr := runCmd(t, "torrent", "create", file, "-o", ours, "-piece-length", "256K",
		"-webseed", "https://cdn.example/episode.mp3", "-announce", "http://t1.example/announce",
		"-announce", "udp://t2.example:6969/announce")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}

	theirs := filepath.Join(dir, "mk.torrent")
	// -l 18 is 2^18 = 256 KiB; -t 2 is the threaded build the benchmark compares against.
	cmd := exec.Command(mk, "-t", "2", "-l", "18", "-a", "http://t1.example/announce", "-o", theirs, file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mktorrent: %v\n%s", err, out)
	}

	mi, info := loadInfo(t, ours)
	_, want := loadInfo(t, theirs)
	if info.PieceLength != 256<<10 || info.NumPieces() != 21 {
		t.Fatalf("piece length %d, %d pieces; want 262144, 21", info.PieceLength, info.NumPieces())
	}
	if !bytes.Equal(info.Pieces, want.Pieces) {
		t.Fatal("piece hashes differ from mktorrent's")
	}
	if info.Name != want.Name || info.Length != want.Length {
		t.Errorf("name %q length %d; mktorrent %q %d", info.Name, info.Length, want.Name, want.Length)
	}
	wantTiers := [][]string{{"http://t1.example/announce"}, {"udp://t2.example:6969/announce"}}
	if mi.Announce != wantTiers[0][0] || !slices.EqualFunc(mi.AnnounceList, wantTiers, slices.Equal) {
		t.Errorf("announce %q, announce-list %q", mi.Announce, mi.AnnounceList)
	}
	if !slices.Equal(mi.UrlList, []string{"https://cdn.example/episode.mp3"}) {
		t.Errorf("url-list %q", mi.UrlList)
	}
	if ih := mi.HashInfoBytes().HexString(); !strings.Contains(stdout, ih) || !strings.Contains(stdout, "magnet:?xt=urn:btih:"+ih) {
		t.Errorf("stdout lacks info hash %s or magnet:\n%s", ih, stdout)
	}
	// Hybrid by default: the v2 hash is printed and in the magnet as btmh.
	v2 := sha256.Sum256(mi.InfoBytes)
	if !info.HasV2() || !strings.Contains(stdout, "info_hash_v2 "+hex.EncodeToString(v2[:])) ||
		!strings.Contains(stdout, "xt=urn:btmh:1220"+hex.EncodeToString(v2[:])) {
		t.Errorf("not a hybrid with its v2 hash printed and in the magnet:\n%s", stdout)
	}

	// -format v1 is mktorrent's torrent exactly: the same info dictionary, so the same hash.
	v1 := filepath.Join(dir, "v1.torrent")
	if code, stdout, stderr = runCmd(t, "torrent", "create", file, "-o", v1, "-piece-length", "256K", "-format", "v1"); code != 0 {
		t.Fatalf("-format v1: exit %d: %s", code, stderr)
	}
	miV1, infoV1 := loadInfo(t, v1)
	miMk, _ := loadInfo(t, theirs)
	if infoV1.HasV2() || miV1.HashInfoBytes() != miMk.HashInfoBytes() || strings.Contains(stdout, "btmh") {
		t.Errorf("-format v1: info hash %s, mktorrent's %s:\n%s", miV1.HashInfoBytes(), miMk.HashInfoBytes(), stdout)
	}
}

// TestTorrentCreateMatchesTransmission checks the default piece length path against
// transmission-create given the same piece length.
func TestTorrentCreateMatchesTransmission(t *testing.T) {
	tc := requirePeer(t, "transmission-create")
	dir := t.TempDir()
	file := filepath.Join(dir, "show.ogg")
	writeRandom(t, file, 3<<20+1)

	ours := filepath.Join(dir, "ours.torrent")
	if code, _, stderr := runCmd(t, "torrent", "create", "-o", ours, file); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, info := loadInfo(t, ours)

	theirs := filepath.Join(dir, "tc.torrent")
	// transmission-create takes the piece size in KiB.
	sizeKiB := strconv.FormatInt(info.PieceLength>>10, 10)
	if out, err := exec.Command(tc, "-s", sizeKiB, "-o", theirs, file).CombinedOutput(); err != nil {
		t.Fatalf("transmission-create: %v\n%s", err, out)
	}
	_, want := loadInfo(t, theirs)
	if want.PieceLength != info.PieceLength || !bytes.Equal(info.Pieces, want.Pieces) {
		t.Fatalf("pieces differ: ours %d x %d, transmission %d x %d",
			info.NumPieces(), info.PieceLength, want.NumPieces(), want.PieceLength)
	}
}

func TestTorrentCreateRefuses(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.bin")
	writeRandom(t, file, 1000)
	empty := filepath.Join(dir, "empty.bin")
	writeRandom(t, empty, 0)
	out := filepath.Join(dir, "out.torrent")
	for _, args := range [][]string{
		{"torrent"},
		{"torrent", "make", file},
		{"torrent", "create"},
		{"torrent", "create", file, file},
		{"torrent", "create", filepath.Join(dir, "missing"), "-o", out},
		{"torrent", "create", dir, "-o", out},
		{"torrent", "create", empty, "-o", out},
		{"torrent", "create", file, "-o", out, "-piece-length", "3"},
		{"torrent", "create", file, "-o", out, "-piece-length", "32M"},
		{"torrent", "create", file, "-o", out, "-piece-length", "300K"},
		{"torrent", "create", file, "-o", out, "-piece-length", "-1M"},
		{"torrent", "create", file, "-o", out, "-announce", ""},
		{"torrent", "create", file, "-o", out, "-format", "v2"},
		{"torrent", "create", file, "-o", filepath.Join(dir, "no", "such", "dir.torrent")},
	} {
		if code, _, _ := runCmd(t, args...); code == 0 {
			t.Errorf("%q: exit 0", args)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("refused runs left %s: %v", out, err)
	}
}
