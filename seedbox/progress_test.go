package seedbox

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
)

// progressLog records what Fetch tells a FetchOptions.Progress hook.
type progressLog struct {
	calls       int
	done, total int64
	body        bytes.Buffer
	ends        int
	endErr      error
}

func (p *progressLog) options() FetchOptions {
	return FetchOptions{Progress: func(done, total int64) (io.Writer, func(error)) {
		p.calls++
		p.done, p.total = done, total
		return &p.body, func(err error) { p.ends++; p.endErr = err }
	}}
}

// TestFetchProgress: the hook sees the declared size and every body byte, and hears once how the
// download ended; a refused answer never starts it.
func TestFetchProgress(t *testing.T) {
	data := randomBytes(3<<20+5, 9)
	srv := origin(t, data)
	var ok progressLog
	if _, err := Fetch(t.Context(), srv.Client(), srv.URL+"/ep.mp3", filepath.Join(t.TempDir(), "ep.mp3"), ok.options()); err != nil {
		t.Fatal(err)
	}
	if ok.calls != 1 || ok.done != 0 || ok.total != int64(len(data)) || !bytes.Equal(ok.body.Bytes(), data) || ok.ends != 1 || ok.endErr != nil {
		t.Fatalf("complete download: %d calls (done %d, total %d), %d bytes seen, %d ends (%v)",
			ok.calls, ok.done, ok.total, ok.body.Len(), ok.ends, ok.endErr)
	}

	short := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(data[:50_000]) // and the connection is cut short
	}))
	defer short.Close()
	var cut progressLog
	_, err := Fetch(t.Context(), short.Client(), short.URL+"/ep.mp3", filepath.Join(t.TempDir(), "ep.mp3"), cut.options())
	if !errors.Is(err, ErrLengthMismatch) || cut.total != 100000 || cut.body.Len() != 50_000 || cut.ends != 1 || !errors.Is(cut.endErr, ErrLengthMismatch) {
		t.Fatalf("cut download: err %v; total %d, %d bytes seen, %d ends (%v)", err, cut.total, cut.body.Len(), cut.ends, cut.endErr)
	}

	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	var refused progressLog
	if _, err := Fetch(t.Context(), missing.Client(), missing.URL+"/ep.mp3", filepath.Join(t.TempDir(), "ep.mp3"), refused.options()); !errors.Is(err, ErrBadStatus) {
		t.Fatalf("404: %v", err)
	}
	if refused.calls != 0 {
		t.Fatal("a 404 started the progress report")
	}
}

// TestHashFileWithProgress: the runs reported add up to the file's size, whatever the workers,
// and the hashes are HashFile's and HashFileV2's.
func TestHashFileWithProgress(t *testing.T) {
	dir := t.TempDir()
	const pl = 64 << 10
	for _, size := range []int{1, pl, 37*pl + 5} {
		path, _ := writeRandomFile(t, dir, "f", size, uint64(size))
		wantV1, err := HashFile(t.Context(), path, pl, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantV2, wantTree, err := HashFileV2(t.Context(), path, pl, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{1, 3} {
			for _, v2 := range []bool{false, true} {
				var (
					sum   atomic.Int64
					mu    sync.Mutex
					calls int
				)
				pieces, tree, err := HashFileWith(t.Context(), path, pl, HashOptions{Workers: workers, V2: v2,
					Progress: func(n int64) { sum.Add(n); mu.Lock(); calls++; mu.Unlock() }})
				if err != nil {
					t.Fatal(err)
				}
				if sum.Load() != int64(size) || calls == 0 {
					t.Errorf("size %d workers %d v2 %v: progress added up to %d in %d calls", size, workers, v2, sum.Load(), calls)
				}
				want, wantT := wantV1, (*Merkle)(nil)
				if v2 {
					want, wantT = wantV2, wantTree
				}
				if !bytes.Equal(pieces, want) || !reflect.DeepEqual(tree, wantT) {
					t.Errorf("size %d workers %d v2 %v: hashes differ from HashFile's", size, workers, v2)
				}
			}
		}
	}
}
