package seedbox

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
	"go.etcd.io/bbolt"
)

// lockedBuffer is a log destination the client's goroutines may write to while a test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A piece completion DB that cannot be read is only a lost cache: the seeder starts, the file is
// moved aside, and every piece is hashed again.
func TestCorruptCompletionDBIsMovedAside(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, path string)
	}{
		{"garbage file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, randomBytes(20000, 1), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage page", func(t *testing.T, path string) { corruptLeafPage(t, path, randomBytes) }},
		{"zeroed page", func(t *testing.T, path string) {
			corruptLeafPage(t, path, func(n int, _ uint64) []byte { return make([]byte, n) })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stateDir := t.TempDir()
			ep := newEpisode(t, t.TempDir(), 2<<20, nil)
			first := newTestSeeder(t, stateDir)
			if err := first.Add(t.Context(), ep.mi, ep.path); err != nil {
				t.Fatal(err)
			}
			// Other torrents' pieces, so that the DB spans many pages.
			for i := range 40 {
				if err := first.pc.trustUnknown(metainfo.Hash{byte(i + 1)}, 300); err != nil {
					t.Fatal(err)
				}
			}
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}

			path := filepath.Join(stateDir, completionFile)
			tc.corrupt(t, path)
			bad, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			var logs lockedBuffer
			second, err := NewSeeder(SeederConfig{ListenAddr: "127.0.0.1:0", StateDir: stateDir, DisableUTP: true},
				slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatalf("NewSeeder with a corrupt completion DB: %v", err)
			}
			t.Cleanup(func() { second.Close() })
			if aside, err := os.ReadFile(path + corruptSuffix); err != nil || !bytes.Equal(aside, bad) {
				t.Errorf("corrupt DB not moved aside intact: %v", err)
			}
			if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, path) || !strings.Contains(l, "corrupt") {
				t.Errorf("no warning naming %s and the reason:\n%s", path, l)
			}
			if err := second.Add(t.Context(), ep.mi, ep.path); err != nil {
				t.Fatal(err)
			}
			if n := second.BytesHashed(); n != int64(len(ep.data)) {
				t.Errorf("after the discard %d bytes were hashed, want all %d", n, len(ep.data))
			}
		})
	}
}

// corruptLeafPage overwrites a leaf page in the middle of the bolt file at path with fill's
// bytes, leaving the meta pages (and so bbolt's own checksums) valid.
func corruptLeafPage(t *testing.T, path string, fill func(n int, seed uint64) []byte) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var leaves []int
	err = db.View(func(tx *bbolt.Tx) error {
		for id := 2; ; id++ {
			p, err := tx.Page(id)
			if err != nil || p == nil {
				return err
			}
			if p.Type == "leaf" {
				leaves = append(leaves, id)
			}
		}
	})
	pageSize := db.Info().PageSize
	db.Close()
	if err != nil || len(leaves) < 3 {
		t.Fatalf("want several leaf pages to corrupt one, have %v (%v)", leaves, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(fill(pageSize, 2), int64(leaves[len(leaves)/2]*pageSize)); err != nil {
		t.Fatal(err)
	}
}

// Only a failure to listen wraps ErrListen, so that the daemon blames its peer port only then.
func TestNewSeederListenErrors(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	taken, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, err = NewSeeder(SeederConfig{ListenAddr: taken.Addr().String(), StateDir: t.TempDir(), DisableUTP: true}, log)
	if !errors.Is(err, ErrListen) {
		t.Errorf("port in use: err = %v, want ErrListen", err)
	}

	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(notDir, "state")
	_, err = NewSeeder(SeederConfig{ListenAddr: "127.0.0.1:0", StateDir: stateDir}, log)
	if err == nil || errors.Is(err, ErrListen) || !strings.Contains(err.Error(), stateDir) {
		t.Errorf("state dir under a file: err = %v, want one naming %s and not ErrListen", err, stateDir)
	}
}
