// Issue 17's second "must be shown": a fresh torrent's seeder sends no piece data twice before
// every piece has gone out once, with several real leechers (anacrolix clients, each its own
// process-local client, trading with each other). No timing is asserted: the order of the
// seeder's piece messages as the leechers read them is.

package seedbox

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	pp "github.com/anacrolix/torrent/peer_protocol"
)

// blockKey is one block of piece data as the seeder sends it in a piece message.
type blockKey struct{ index, begin uint32 }

// sendLog records, in the order the leechers read them, the blocks the seeder sent to each.
type sendLog struct {
	seeder torrent.PeerID

	mu    sync.Mutex
	sends []blockSend
}

type blockSend struct {
	block   blockKey
	leecher int
	length  int
}

func (l *sendLog) callback(leecher int) func(*torrent.PeerConn, *pp.Message) {
	return func(pc *torrent.PeerConn, m *pp.Message) {
		if m.Type != pp.Piece || pc.PeerID != l.seeder {
			return
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.sends = append(l.sends, blockSend{blockKey{uint32(m.Index), uint32(m.Begin)}, leecher, len(m.Piece)})
	}
}

// firstRepeat returns the first send of a block already sent while some of the file's bytes had
// not yet gone out once, and how many bytes were still unsent then; ok is false if there is none.
func (l *sendLog) firstRepeat(fileLen int64) (repeat blockSend, unsent int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sent := map[blockKey]bool{}
	var covered int64
	for _, s := range l.sends {
		if covered >= fileLen {
			return blockSend{}, 0, false
		}
		if sent[s.block] {
			return s, fileLen - covered, true
		}
		sent[s.block] = true
		covered += int64(s.length)
	}
	return blockSend{}, 0, false
}

func TestFlashCrowdFreshTorrentSendsEachBlockOnceFirst(t *testing.T) {
	const (
		leechers = 4
		size     = 4 << 20
		// Capped, as on a small VPS: the leechers then have time to pass pieces on to each other.
		limit = 2 << 20
	)
	ep := newEpisode(t, t.TempDir(), size, nil)
	s, err := NewSeeder(SeederConfig{
		ListenAddr:      "127.0.0.1:0",
		StateDir:        t.TempDir(),
		DisableUTP:      true,
		UploadRateLimit: limit,
		InitialSeeding:  true,
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.AddTrusted(t.Context(), ep.mi, ep.path); err != nil {
		t.Fatal(err)
	}
	log := &sendLog{seeder: s.cl.PeerID()}

	var (
		tors  []*torrent.Torrent
		dirs  []string
		peers []torrent.PeerInfo
	)
	for i := range leechers {
		cfg := leecherConfig(t)
		cfg.Seed = true // leechers upload to each other while they download, as listeners' clients do
		cfg.Callbacks.ReadMessage = log.callback(i)
		cl, err := torrent.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		tors = append(tors, addStripped(t, cl, ep.mi))
		dirs = append(dirs, cfg.DataDir)
		peers = append(peers, torrent.PeerInfo{Addr: torrent.StringAddr("127.0.0.1:" + strconv.Itoa(cl.LocalPort()))})
	}
	// Every leecher knows the seeder and the others, as the tracker would tell them, from the start.
	seeder := torrent.PeerInfo{Addr: torrent.StringAddr("127.0.0.1:" + strconv.Itoa(s.ListenPort()))}
	all := append([]torrent.PeerInfo{seeder}, peers...)
	for _, tor := range tors {
		tor.AddPeers(all)
		tor.DownloadAll()
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	redial := time.NewTicker(2 * time.Second)
	defer redial.Stop()
	for i, tor := range tors {
		for done := false; !done; {
			select {
			case <-tor.Complete().On():
				done = true
			case <-redial.C:
				tor.AddPeers(all)
			case <-ctx.Done():
				t.Fatalf("leecher %d did not complete: %d of %d bytes", i, tor.BytesCompleted(), tor.Length())
			}
		}
	}
	for i, tor := range tors {
		got, err := os.ReadFile(filepath.Join(dirs[i], tor.Files()[0].Path()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, ep.data) {
			t.Fatalf("leecher %d got different bytes", i)
		}
	}

	uploaded := s.Uploaded()[ep.mi.HashInfoBytes()]
	if r, unsent, ok := log.firstRepeat(size); ok {
		t.Fatalf("the seeder sent piece %d block at %d (to leecher %d) a second time while %d of %d bytes "+
			"had not gone out once; it sent %s copies of the file in all",
			r.block.index, r.block.begin, r.leecher, unsent, size, fmt.Sprintf("%.2f", float64(uploaded)/size))
	}
	copies := float64(uploaded) / size
	t.Logf("the seeder sent %.2f copies of the file", copies)
	if copies > 1.3 {
		t.Fatalf("the seeder sent %.2f copies of the file, want at most 1.3 (issue 17)", copies)
	}
}
