package seedbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

func TestWriteTorrentFileRoundTrip(t *testing.T) {
	data := randomBytes(1<<20+999, 11)
	srv := origin(t, data)
	dir := t.TempDir()
	d, err := Fetch(t.Context(), srv.Client(), srv.URL+"/ep.mp3", filepath.Join(dir, "ep.mp3"), FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	opts := MetaOptions{
		Name: "Episode 1.mp3",
		AnnounceList: [][]string{
			{"http://127.0.0.1:8080/announce"},
			{"udp://127.0.0.1:8081", ""},
			{},
		},
		WebSeeds:     []string{srv.URL + "/ep.mp3"},
		CreatedBy:    "seedcast test",
		CreationDate: created,
		Comment:      "hello",
	}
	mi, err := BuildMetaInfo(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	tpath := filepath.Join(dir, "ep.torrent")
	size, err := WriteTorrentFile(tpath, mi)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(tpath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != size {
		t.Errorf("returned size %d, file is %d", size, fi.Size())
	}
	if names := dirEntries(t, dir); !slices.Equal(names, []string{"ep.mp3", "ep.torrent"}) {
		t.Errorf("directory holds %v", names)
	}

	got, err := metainfo.LoadFromFile(tpath)
	if err != nil {
		t.Fatal(err)
	}
	wantTiers := [][]string{{"http://127.0.0.1:8080/announce"}, {"udp://127.0.0.1:8081"}}
	if len(got.AnnounceList) != 2 || !slices.Equal(got.AnnounceList[0], wantTiers[0]) || !slices.Equal(got.AnnounceList[1], wantTiers[1]) {
		t.Errorf("announce-list %v", got.AnnounceList)
	}
	if got.Announce != "http://127.0.0.1:8080/announce" {
		t.Errorf("announce %q", got.Announce)
	}
	if !slices.Equal([]string(got.UrlList), opts.WebSeeds) {
		t.Errorf("url-list %v", got.UrlList)
	}
	if got.CreatedBy != opts.CreatedBy || got.Comment != opts.Comment || got.CreationDate != created.Unix() {
		t.Errorf("created by %q comment %q date %d", got.CreatedBy, got.Comment, got.CreationDate)
	}
	if got.HashInfoBytes() != mi.HashInfoBytes() {
		t.Error("info hash changed on round trip")
	}
	info, err := got.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != opts.Name || info.Length != int64(len(data)) || info.PieceLength < 256<<10 || len(info.Files) != 0 {
		t.Errorf("info name %q length %d piece length %d files %d", info.Name, info.Length, info.PieceLength, len(info.Files))
	}
	if !bytes.Equal(info.Pieces, referencePieces(t, filepath.Join(dir, "ep.mp3"), info.PieceLength)) {
		t.Error("pieces differ from GeneratePieces")
	}
}

func TestBuildMetaInfoRefuses(t *testing.T) {
	good := Download{Path: "/x/ep.mp3", Size: 300 << 10, PieceLength: 256 << 10, Pieces: make([]byte, 40)}
	if _, err := BuildMetaInfo(good, MetaOptions{}); err != nil {
		t.Fatalf("good download refused: %v", err)
	}
	cases := map[string]struct {
		d Download
		o MetaOptions
	}{
		"short pieces": {Download{Path: "/x/a", Size: 300 << 10, PieceLength: 256 << 10, Pieces: make([]byte, 20)}, MetaOptions{}},
		"empty file":   {Download{Path: "/x/a", PieceLength: 256 << 10}, MetaOptions{}},
		"zero piece":   {Download{Path: "/x/a", Size: 1, Pieces: make([]byte, 20)}, MetaOptions{}},
		"slash name":   {good, MetaOptions{Name: "../etc/passwd"}},
		"dotdot name":  {good, MetaOptions{Name: ".."}},
		"nul name":     {good, MetaOptions{Name: "a\x00b"}},
	}
	for name, c := range cases {
		if _, err := BuildMetaInfo(c.d, c.o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestWriteTorrentFileMissingDir(t *testing.T) {
	mi, err := BuildMetaInfo(Download{Path: "a", Size: 1, PieceLength: 256 << 10, Pieces: make([]byte, 20)}, MetaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteTorrentFile(filepath.Join(t.TempDir(), "no", "such.torrent"), mi); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestHashFileMatchesGeneratePieces(t *testing.T) {
	dir := t.TempDir()
	// 64 KiB pieces fit in one read chunk; 192 KiB + 64 and 512 KiB take several, the first with
	// a short last chunk; 1000 is no multiple of 64, so every piece is hashed alone.
	for _, pl := range []int{64 << 10, 192<<10 + 64, 512 << 10, 1000} {
		for _, size := range []int{0, 1, pl, 5*pl + 7, 19*pl + 1, 40 * pl} {
			path, _ := writeRandomFile(t, dir, "f", size, uint64(size))
			want := referencePieces(t, path, int64(pl))
			for _, workers := range []int{0, 1, 3} {
				got, err := HashFile(t.Context(), path, int64(pl), workers)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("piece length %d size %d workers %d: pieces differ", pl, size, workers)
				}
			}
		}
	}
}

func TestHashFileErrors(t *testing.T) {
	path, _ := writeRandomFile(t, t.TempDir(), "f", 1<<20, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := HashFile(ctx, path, 16<<10, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if _, err := HashFile(t.Context(), path+".missing", 16<<10, 2); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: err = %v", err)
	}
	if _, err := HashFile(t.Context(), path, 0, 2); err == nil {
		t.Error("zero piece length accepted")
	}
}

func BenchmarkHashFile(b *testing.B) {
	path, _ := writeRandomFile(b, b.TempDir(), "f", 64<<20, 5)
	b.SetBytes(64 << 20)
	for b.Loop() {
		if _, err := HashFile(b.Context(), path, 1<<20, 0); err != nil {
			b.Fatal(err)
		}
	}
}
