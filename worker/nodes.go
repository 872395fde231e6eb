package worker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/seedcast/seedcast/cluster"
	"github.com/seedcast/seedcast/store"
)

// The gateway's processes on one store are nodes: each sends a heartbeat, and a feed is polled
// by the one node holding its lease (store.Nodes), so two nodes never download the same episode.

// NodeStatus is one node as /status shows it.
type NodeStatus struct {
	Name      string    `json:"name"`
	Alive     bool      `json:"alive"`
	LastSeen  time.Time `json:"last_seen"`
	Seeding   int       `json:"seeding"`  // torrents it seeds, every piece verified
	Assigned  int       `json:"assigned"` // torrents it should seed
	DiskBytes int64     `json:"disk_bytes"`
}

// Heartbeat records this node as alive, with the torrents it seeds and the media bytes on its
// disk.
func (w *Worker) Heartbeat(ctx context.Context) error {
	n := store.Node{Name: w.cfg.NodeName, StartedAt: w.started, LastSeen: w.now()}
	if w.seeder != nil {
		n.Seeding = len(w.seeder.Stats().Torrents)
	}
	disk, err := mediaBytes(filepath.Join(w.cfg.DataDir, "media"))
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	n.DiskBytes = disk
	return w.st.Heartbeat(ctx, n)
}

func mediaBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n, err
}

// NodesStore is what NodesStatus reads.
type NodesStore interface {
	ListNodes(ctx context.Context) ([]store.Node, error)
	Torrents(ctx context.Context) ([]store.Torrent, error)
}

// NodesStatus lists the nodes, alive when heard from within timeout of now, each with the
// torrents (not evicted) that cluster.Assign gives it among the live nodes, replicas per torrent.
func NodesStatus(ctx context.Context, st NodesStore, timeout time.Duration, replicas int, now time.Time) ([]NodeStatus, error) {
	nodes, err := st.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	ts, err := st.Torrents(ctx)
	if err != nil {
		return nil, err
	}
	var live []string
	for _, n := range nodes {
		if now.Sub(n.LastSeen) < timeout {
			live = append(live, n.Name)
		}
	}
	assigned := map[string]int{}
	for _, t := range ts {
		if !t.Evicted {
			for _, n := range cluster.Assign(t.InfoHash, t.MadeBy, live, replicas) {
				assigned[n]++
			}
		}
	}
	out := make([]NodeStatus, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, NodeStatus{Name: n.Name, LastSeen: n.LastSeen, Alive: now.Sub(n.LastSeen) < timeout,
			Seeding: n.Seeding, DiskBytes: n.DiskBytes, Assigned: assigned[n.Name]})
	}
	return out, nil
}

// errLeaseHeld says another node holds the feed's poll lease: this node skips the poll.
var errLeaseHeld = errors.New("another node holds the feed's poll lease")

// leaseFeed takes the feed's poll lease for this node and keeps renewing it every third of
// LeaseTTL until release is called; if the lease is lost (this node was taken for dead), the
// returned context is cancelled, so the poll stops. Without a node name there is no lease.
func (w *Worker) leaseFeed(ctx context.Context, f Feed) (context.Context, func(), error) {
	if w.cfg.NodeName == "" {
		return ctx, func() {}, nil
	}
	ttl := w.cfg.LeaseTTL
	ok, err := w.st.LeaseFeed(ctx, f.Slug, w.cfg.NodeName, w.now(), w.now().Add(ttl))
	if err == nil && !ok {
		// A feed never polled has no row to lease yet.
		if _, ferr := w.st.Feed(ctx, f.Slug); errors.Is(ferr, store.ErrNotFound) && !f.Runtime {
			if err = w.st.EnsureFeed(ctx, f.Slug, f.URL); err == nil {
				ok, err = w.st.LeaseFeed(ctx, f.Slug, w.cfg.NodeName, w.now(), w.now().Add(ttl))
			}
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, errLeaseHeld
	}
	pollCtx, cancel := context.WithCancel(ctx)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(ttl / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			ok, err := w.st.LeaseFeed(pollCtx, f.Slug, w.cfg.NodeName, w.now(), w.now().Add(ttl))
			if err == nil && !ok {
				w.log.Warn("lost the feed's poll lease to another node: stopping its poll", "feed", f.Slug)
				cancel()
				return
			}
			if err != nil && pollCtx.Err() == nil {
				w.log.Warn("renewing the feed's poll lease", "feed", f.Slug, "err", err)
			}
		}
	}()
	release := func() {
		close(stop)
		wg.Wait()
		cancel()
		if err := w.st.ReleaseFeed(context.WithoutCancel(ctx), f.Slug, w.cfg.NodeName); err != nil {
			w.log.Warn("releasing the feed's poll lease", "feed", f.Slug, "err", err)
		}
	}
	return pollCtx, release, nil
}

// polledElsewhere reports a feed another node polled within f.MinGap: this node's poll is
// skipped. A node's own last poll never skips one (a restart polls at once).
func (w *Worker) polledElsewhere(ctx context.Context, f Feed) bool {
	if w.cfg.NodeName == "" || f.MinGap <= 0 {
		return false
	}
	prev, err := w.st.Feed(ctx, f.Slug)
	if err != nil || prev.PolledBy == "" || prev.PolledBy == w.cfg.NodeName || prev.LastPollAt.IsZero() {
		return false
	}
	if ago := w.now().Sub(prev.LastPollAt); ago < f.MinGap {
		w.log.Debug("poll skipped: another node polled the feed recently", "feed", f.Slug, "node", prev.PolledBy, "ago", ago)
		return true
	}
	return false
}
