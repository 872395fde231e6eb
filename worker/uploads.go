package worker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// UploadCounter is the seeder as Uploads reads it: bytes sent per info hash since it started,
// each figure only growing (seedbox.Seeder.Uploaded).
type UploadCounter interface {
	Uploaded() map[metainfo.Hash]int64
}

// UploadStore keeps each node's uploads (store.SeederUploads).
type UploadStore interface {
	AddSeederUploads(ctx context.Context, node string, at time.Time, bytes map[string]int64) error
}

// Uploads writes what this node's seeder uploaded into the store as it grows, so the reports'
// bandwidth figures survive restarts and add up over nodes. Each Flush adds the growth since the
// last one that succeeded: a failed write is sent again next time, and a new process (whose
// seeder counts from zero) starts from zero too, so nothing is lost or counted twice, but for
// a write that committed and then reported failure.
type Uploads struct {
	node   string
	seeder UploadCounter
	st     UploadStore
	log    *slog.Logger

	mu      sync.Mutex // one Flush at a time: the periodic job and the shutdown's
	written map[metainfo.Hash]int64
}

// NewUploads records seeder's uploads under node.
func NewUploads(node string, seeder UploadCounter, st UploadStore, log *slog.Logger) *Uploads {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Uploads{node: node, seeder: seeder, st: st, log: log, written: map[metainfo.Hash]int64{}}
}

// Flush adds what the seeder uploaded since the last successful Flush.
func (u *Uploads) Flush(ctx context.Context) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.seeder.Uploaded()
	delta := map[string]int64{}
	var total int64
	for ih, n := range now {
		if d := n - u.written[ih]; d > 0 {
			delta[ih.HexString()] = d
			total += d
		}
	}
	if len(delta) == 0 {
		return nil
	}
	if err := u.st.AddSeederUploads(ctx, u.node, time.Now(), delta); err != nil {
		return fmt.Errorf("recording seeder uploads (%d bytes kept for the next try): %w", total, err)
	}
	for ih, n := range now {
		u.written[ih] = max(u.written[ih], n)
	}
	u.log.Debug("seeder uploads recorded", "torrents", len(delta), "bytes", total)
	return nil
}
