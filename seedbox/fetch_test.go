package seedbox

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/seedbox/piecehash"
)

// randomBytes returns deterministic pseudo-random content.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

func writeRandomFile(t testing.TB, dir, name string, n int, seed uint64) (string, []byte) {
	t.Helper()
	data := randomBytes(n, seed)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// referencePieces hashes a file with the library's own GeneratePieces.
func referencePieces(t testing.TB, path string, pieceLength int64) []byte {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	info := metainfo.Info{Name: filepath.Base(path), Length: fi.Size(), PieceLength: pieceLength}
	err = info.GeneratePieces(func(metainfo.FileInfo) (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		t.Fatal(err)
	}
	return info.Pieces
}

// origin serves data as an enclosure with ETag and Last-Modified, like a podcast host.
func origin(t testing.TB, data []byte) *httptest.Server {
	t.Helper()
	modTime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "episode.mp3", modTime, bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestPieceLengthFor(t *testing.T) {
	cases := []struct {
		size, want int64
	}{
		{-1, 256 << 10},
		{0, 256 << 10},
		{1, 256 << 10},
		{500 << 20, 256 << 10},  // 2000 pieces exactly
		{501 << 20, 512 << 10},  // just over
		{100 << 30, 16 << 20},   // capped
		{2 << 30, 2 << 20},      // 1024 pieces
		{4000 << 20, 2 << 20},   // 2000 pieces
		{4001 << 20, 4 << 20},   // 2000.5 pieces round up to 2001
		{16001 << 20, 16 << 20}, // capped
	}
	for _, c := range cases {
		if got := PieceLengthFor(c.size); got != c.want {
			t.Errorf("PieceLengthFor(%d) = %d, want %d", c.size, got, c.want)
		}
	}
}

func TestFetchMatchesGeneratePieces(t *testing.T) {
	cases := []struct {
		name        string
		size        int
		pieceLength int64
	}{
		{"uneven last piece", 3<<20 + 123, 0},
		{"exact multiple", 4 << 18, 0},
		{"one byte", 1, 0},
		{"explicit piece length", 1<<20 + 7, 32 << 10},
		// More pieces than one batch holds (16 on AVX-512): several full batches, then a
		// partial one ending in a short piece.
		{"several batches", 40<<15 + 5, 32 << 10},
		// Piece lengths whose batches are whole 512 KiB chunks, hashed from the chunks
		// themselves (pieceHasher.hold) on AVX-512.
		{"512 KiB pieces, batches and a tail", 40<<19 + 12345, 512 << 10},
		{"1 MiB pieces, batches and a tail", 20<<20 + 12345, 1 << 20},
		{"exactly 16 pieces", 16 << 19, 512 << 10},
		{"exactly 32 pieces", 32 << 19, 512 << 10},
		{"fewer than 16 pieces", 3<<20 + 100, 1 << 20},
		{"short last piece of one chunk", 6<<20 + 512<<10, 1 << 20},
		{"two pieces a chunk", 17<<18 + 12345, 256 << 10},
		{"2 MiB pieces, 8 a batch", 8<<21 + 3, 2 << 20},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := randomBytes(c.size, uint64(i))
			srv := origin(t, data)
			dir := t.TempDir()
			dest := filepath.Join(dir, "ep.mp3")

			d, err := Fetch(t.Context(), srv.Client(), srv.URL+"/ep.mp3", dest, FetchOptions{PieceLength: c.pieceLength})
			if err != nil {
				t.Fatal(err)
			}
			wantPL := c.pieceLength
			if wantPL == 0 {
				wantPL = PieceLengthFor(int64(c.size))
			}
			if d.Path != dest || d.Size != int64(c.size) || d.PieceLength != wantPL {
				t.Fatalf("got path %q size %d piece length %d", d.Path, d.Size, d.PieceLength)
			}
			got, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("file content differs from origin")
			}
			if want := referencePieces(t, dest, d.PieceLength); !bytes.Equal(d.Pieces, want) {
				t.Fatalf("pieces differ from GeneratePieces: %d vs %d bytes", len(d.Pieces), len(want))
			}
			if want := sha256.Sum256(data); !bytes.Equal(d.SHA256, want[:]) {
				t.Fatal("sha256 differs")
			}
			if d.ContentType != "audio/mpeg" || d.ETag != `"v1"` || d.LastModified != "Wed, 01 May 2024 12:00:00 GMT" {
				t.Fatalf("headers: %q %q %q", d.ContentType, d.ETag, d.LastModified)
			}
			if names := dirEntries(t, dir); len(names) != 1 {
				t.Fatalf("directory holds %v, want only ep.mp3", names)
			}
		})
	}
}

// TestCopyLimitedAfterPrefix feeds the piece hasher a prefix through Write, as a resumed download
// does, then the rest through copyLimited, which holds chunks only when the prefix ended a batch.
func TestCopyLimitedAfterPrefix(t *testing.T) {
	const pl = 256 << 10
	batch := newPieceHasher(pl).batchBytes
	cases := []struct {
		name   string
		prefix int
		held   bool // whether copyLimited should hold chunks rather than copy them
	}{
		{"no prefix", 0, true},
		{"one batch", batch, true},
		{"mid piece", batch + 100_000, false},
		{"mid chunk", 3 * pl, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := randomBytes(2*batch+5*pl+777, uint64(50+i))
			h := newPieceHasher(pl)
			h.Write(data[:c.prefix])
			if held := h.chunksPerBatch() > 0; held != (c.held && piecehash.Lanes() > 1) {
				t.Fatalf("holds chunks: %v", held)
			}
			whole := sha256.New()
			whole.Write(data[:c.prefix])
			// HalfReader: fill must still hand over full chunks from short reads.
			n, err := copyLimited(io.Discard, h, whole, nil, iotest.HalfReader(bytes.NewReader(data[c.prefix:])), 1<<30)
			if err != nil || n != int64(len(data)-c.prefix) {
				t.Fatalf("copied %d, %v", n, err)
			}
			var want []byte
			for off := 0; off < len(data); off += pl {
				s := sha1.Sum(data[off:min(off+pl, len(data))])
				want = append(want, s[:]...)
			}
			if got := h.finish(); !bytes.Equal(got, want) {
				t.Fatalf("pieces differ: %d vs %d bytes", len(got), len(want))
			}
			if want := sha256.Sum256(data); !bytes.Equal(whole.Sum(nil), want[:]) {
				t.Fatal("sha256 differs")
			}
		})
	}
}

func TestFetchUnknownLength(t *testing.T) {
	data := randomBytes(2<<20+5, 7)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Writing in pieces with flushes forces chunked encoding: no Content-Length.
		for chunk := range slicesChunk(data, 100_000) {
			w.Write(chunk)
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	dest := filepath.Join(t.TempDir(), "ep.mp3")
	d, err := Fetch(t.Context(), srv.Client(), srv.URL, dest, FetchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.PieceLength != unknownSizePieceLength || d.Size != int64(len(data)) {
		t.Fatalf("piece length %d size %d", d.PieceLength, d.Size)
	}
	if want := referencePieces(t, dest, d.PieceLength); !bytes.Equal(d.Pieces, want) {
		t.Fatal("pieces differ from GeneratePieces")
	}
}

func slicesChunk(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			c := b[:min(n, len(b))]
			b = b[len(c):]
			if !yield(c) {
				return
			}
		}
	}
}

func TestFetchContentLengthLie(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(randomBytes(50_000, 1))
		// Returning early makes the server cut the connection short of the declared length.
	}))
	defer srv.Close()
	dir := t.TempDir()
	dest := filepath.Join(dir, "ep.mp3")
	// An older version of the episode must survive a failed refresh untouched.
	if err := os.WriteFile(dest, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}

	_, err := Fetch(t.Context(), srv.Client(), srv.URL+"/lie.mp3", dest, FetchOptions{})
	if !errors.Is(err, ErrLengthMismatch) {
		t.Fatalf("err = %v, want ErrLengthMismatch", err)
	}
	if !strings.Contains(err.Error(), srv.URL+"/lie.mp3") {
		t.Errorf("error %q does not name the URL", err)
	}
	got, err := os.ReadFile(dest)
	if err != nil || string(got) != "old" {
		t.Fatalf("destPath changed: %q, %v", got, err)
	}
	if names := dirEntries(t, dir); len(names) != 1 {
		t.Fatalf("leftover files: %v", names)
	}
}

func TestFetchMaxBytes(t *testing.T) {
	data := randomBytes(300_000, 3)
	declared := origin(t, data)
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for chunk := range slicesChunk(data, 10_000) {
			w.Write(chunk)
			w.(http.Flusher).Flush()
		}
	}))
	defer chunked.Close()

	for name, srv := range map[string]*httptest.Server{"content-length": declared, "chunked": chunked} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "ep.mp3")
			_, err := Fetch(t.Context(), srv.Client(), srv.URL, dest, FetchOptions{MaxBytes: 200_000})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if names := dirEntries(t, dir); len(names) != 0 {
				t.Fatalf("leftover files: %v", names)
			}
		})
	}
	t.Run("exactly at limit", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "ep.mp3")
		if _, err := Fetch(t.Context(), declared.Client(), declared.URL, dest, FetchOptions{MaxBytes: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFetchCancel(t *testing.T) {
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(10<<20))
		w.Write(randomBytes(1<<20, 4))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done() // stall until the client goes away
	}))
	defer srv.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started
		cancel()
	}()
	_, err := Fetch(ctx, srv.Client(), srv.URL, filepath.Join(dir, "ep.mp3"), FetchOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Fatalf("leftover files: %v", names)
	}
}

func TestFetchRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("not really gzip"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	_, err := Fetch(t.Context(), srv.Client(), srv.URL+"/missing", filepath.Join(dir, "a"), FetchOptions{})
	if !errors.Is(err, ErrBadStatus) || !strings.Contains(err.Error(), "/missing") {
		t.Errorf("404: err = %v", err)
	}
	_, err = Fetch(t.Context(), srv.Client(), srv.URL+"/gzip", filepath.Join(dir, "b"), FetchOptions{})
	if err == nil || !strings.Contains(err.Error(), "Content-Encoding") {
		t.Errorf("gzip: err = %v", err)
	}
	_, err = Fetch(t.Context(), srv.Client(), srv.URL, filepath.Join(dir, "c"), FetchOptions{PieceLength: 300_000})
	if err == nil {
		t.Error("non power of two piece length accepted")
	}
	_, err = Fetch(t.Context(), srv.Client(), "http://user:secret@127.0.0.1:1/x", filepath.Join(dir, "d"), FetchOptions{})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("credentials leak or no error: %v", err)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Fatalf("leftover files: %v", names)
	}
}

func BenchmarkFetchHash(b *testing.B) {
	data := randomBytes(64<<20, 9)
	srv := origin(b, data)
	dest := filepath.Join(b.TempDir(), "ep.mp3")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Fetch(b.Context(), srv.Client(), srv.URL, dest, FetchOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// zeros is an endless body.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// The file write runs on its own goroutine: when it fails, the download stops with that error
// instead of reading the rest of the body.
func TestCopyLimitedStopsWhenTheWriteFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ro, err := os.Open(path) // read-only: every Write fails
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	n, err := copyLimited(ro, newPieceHasher(256<<10), sha256.New(), nil, zeros{}, 1<<40)
	if err == nil || !strings.Contains(err.Error(), "writing temporary file") {
		t.Fatalf("err = %v, want the write error", err)
	}
	if n > 64<<20 {
		t.Fatalf("read %d bytes after the write failed", n)
	}
}
