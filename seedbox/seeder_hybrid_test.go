package seedbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/types/infohash-v2"
)

// newHybridEpisode is newEpisode for a hybrid torrent, hashed with HashFileV2.
func newHybridEpisode(t *testing.T, dir string, size int) episode {
	t.Helper()
	path, data := writeRandomFile(t, dir, "episode.mp3", size, uint64(size)+1)
	pl := PieceLengthFor(int64(size))
	pieces, m, err := HashFileV2(t.Context(), path, pl, 0)
	if err != nil {
		t.Fatal(err)
	}
	mi, err := BuildMetaInfo(Download{Path: path, Size: int64(size), PieceLength: pl, Pieces: pieces, Merkle: m},
		MetaOptions{Name: "Episode One.mp3", WebSeeds: []string{"http://127.0.0.1:1/episode.mp3"}})
	if err != nil {
		t.Fatal(err)
	}
	return episode{path: path, data: data, mi: mi}
}

// writeMetaInfo writes mi to dir/name without its trackers and web seeds.
func writeMetaInfo(t *testing.T, dir, name string, mi *metainfo.MetaInfo) string {
	t.Helper()
	stripped := *mi
	stripped.UrlList, stripped.Announce, stripped.AnnounceList = nil, "", nil
	var buf bytes.Buffer
	if err := stripped.Write(&buf); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSeederHybrid: the seeder seeds a hybrid torrent to a v2 client that knows only its v2 info
// hash (libtorrent from a btmh-only magnet: metadata, piece layers and bytes all come from the
// seeder), to libtorrent from the .torrent, to aria2 (v1 only) and to a second anacrolix client.
func TestSeederHybrid(t *testing.T) {
	ep := newHybridEpisode(t, t.TempDir(), 3<<20+12345) // 13 pieces of 256 KiB: piece layers needed
	s := newTestSeeder(t, t.TempDir())
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	v2, ok := InfoHashV2(ep.mi)
	if !ok {
		t.Fatal("not a hybrid torrent")
	}
	peer := fmt.Sprintf("127.0.0.1:%d", s.ListenPort())

	t.Run("anacrolix", func(t *testing.T) {
		if got := leech(t, ep.mi, s.ListenPort()); !bytes.Equal(got, ep.data) {
			t.Fatal("anacrolix leecher got different bytes")
		}
	})

	python := "/usr/bin/python3"
	haveLT := exec.Command(python, "-c", "import libtorrent").Run() == nil
	t.Run("libtorrent btmh magnet", func(t *testing.T) {
		if !haveLT {
			t.Skip("python3-libtorrent not installed")
		}
		magnet := "magnet:?xt=urn:btmh:" + infohash_v2.ToMultihash(v2).HexString() + "&dn=Episode+One.mp3"
		out := ltFetch(t, python, magnet, peer, ep.data)
		if !strings.Contains(out, "v2 "+hex.EncodeToString(v2[:])) {
			t.Errorf("libtorrent did not join by the v2 info hash:\n%s", out)
		}
	})
	t.Run("libtorrent torrent file", func(t *testing.T) {
		if !haveLT {
			t.Skip("python3-libtorrent not installed")
		}
		out := ltFetch(t, python, writeMetaInfo(t, t.TempDir(), "ep.torrent", ep.mi), peer, ep.data)
		for _, want := range []string{"v1 " + ep.mi.HashInfoBytes().HexString(), "v2 " + hex.EncodeToString(v2[:])} {
			if !strings.Contains(out, want) {
				t.Errorf("libtorrent output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("aria2", func(t *testing.T) {
		aria2, err := exec.LookPath("aria2c")
		if err != nil {
			t.Skip("aria2c not installed")
		}
		// aria2 finds peers only through a tracker: this one hands out the seeder alone.
		tr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var compact [6]byte
			copy(compact[:4], []byte{127, 0, 0, 1})
			binary.BigEndian.PutUint16(compact[4:], uint16(s.ListenPort()))
			fmt.Fprintf(w, "d8:intervali1800e5:peers6:%se", compact[:])
		}))
		defer tr.Close()
		// aria2 1.36 (Debian's) drops dictionary keys that are empty, such as the file tree's
		// "", so it computes another v1 info hash for any hybrid torrent, libtorrent's own
		// included (aria2 issue 1903, fixed after 1.36.0). Ask it which hash it sees first.
		torrentPath := writeMetaInfo(t, t.TempDir(), "ep.torrent", ep.mi)
		shown, err := exec.CommandContext(t.Context(), aria2, "-S", torrentPath).CombinedOutput()
		if err != nil {
			t.Fatalf("aria2c -S: %v\n%s", err, shown)
		}
		ih := ep.mi.HashInfoBytes().HexString()
		if !strings.Contains(string(shown), "Info Hash: "+ih) {
			t.Skipf("this aria2 cannot read hybrid torrents (it does not see info hash %s); it still completes v1 torrents:\n%s", ih, shown)
		}
		magnet := "magnet:?xt=urn:btih:" + ih + "&tr=" + url.QueryEscape(tr.URL+"/announce")
		dir := t.TempDir()
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, aria2, "--seed-time=0", "--enable-dht=false", "--enable-dht6=false",
			"--bt-enable-lpd=false", "--enable-peer-exchange=false", "--file-allocation=none",
			"--summary-interval=0", "--bt-stop-timeout=60", "--dir="+dir, magnet)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("aria2c: %v\n%s", err, out)
		}
		checkDownloaded(t, filepath.Join(dir, "Episode One.mp3"), ep.data, "aria2c")
	})
}

func ltFetch(t *testing.T, python, src, peer string, want []byte) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "testdata/lt_fetch.py", src, dir, peer, "20").CombinedOutput()
	if err != nil {
		t.Fatalf("libtorrent: %v\n%s", err, out)
	}
	checkDownloaded(t, filepath.Join(dir, "Episode One.mp3"), want, "libtorrent")
	return string(out)
}

func checkDownloaded(t *testing.T, path string, want []byte, who string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %s differs from the seeded bytes", who, path)
	}
}

// TestSeederRefusesBadHybrid: a hybrid whose piece layers do not hash to its root, or whose file
// tree names another file, is not seeded (v2 peers would be handed hashes the file fails).
func TestSeederRefusesBadHybrid(t *testing.T) {
	ep := newHybridEpisode(t, t.TempDir(), 1<<20+5)
	s := newTestSeeder(t, t.TempDir())
	bad := *ep.mi
	bad.PieceLayers = map[string]string{}
	for root, layer := range ep.mi.PieceLayers {
		b := []byte(layer)
		b[0] ^= 1
		bad.PieceLayers[root] = string(b)
	}
	if err := s.AddTrusted(t.Context(), &bad, ep.path); err == nil || !strings.Contains(err.Error(), "piece layers") {
		t.Fatalf("bad piece layers: err = %v", err)
	}
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
}
