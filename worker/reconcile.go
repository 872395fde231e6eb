package worker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/seedcast/seedcast/cluster"
	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
)

// replicateTimeout bounds one replication; an unfinished one is tried again at the next
// Reconcile.
const replicateTimeout = 30 * time.Minute

// replicaPeers bounds the seeders a replica dials: a few nodes, and listeners who finished.
const replicaPeers = 20

// liveNodes are the nodes heard from within LeaseTTL (node_timeout), this one always among them.
func (w *Worker) liveNodes(ctx context.Context) ([]string, error) {
	nodes, err := w.st.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	live := []string{w.cfg.NodeName}
	now := w.now()
	for _, n := range nodes {
		if n.Name != w.cfg.NodeName && now.Sub(n.LastSeen) < w.cfg.LeaseTTL {
			live = append(live, n.Name)
		}
	}
	return live, nil
}

// assignedHere reports whether this node is one of t's seeders among live.
func (w *Worker) assignedHere(t store.Torrent, live []string) bool {
	return w.cfg.NodeName == "" || slices.Contains(cluster.Assign(t.InfoHash, t.MadeBy, live, w.cfg.Replicas), w.cfg.NodeName)
}

// Reconcile makes this node seed what cluster.Assign gives it among the live nodes: a torrent it
// is assigned and has no media for is replicated from the swarm (the nodes that seed it), never
// fetched from the origin; one it is no longer assigned stays seeded for UnassignedGrace, so its
// new seeders can replicate it, and is then removed with its media.
func (w *Worker) Reconcile(ctx context.Context) error {
	if w.seeder == nil {
		return nil
	}
	ts, err := w.st.Torrents(ctx)
	if err != nil {
		return err
	}
	errs := []error{w.dropOrphans(ts)}
	if w.cfg.NodeName == "" {
		return errors.Join(errs...)
	}
	live, err := w.liveNodes(ctx)
	if err != nil {
		return err
	}
	if len(live) == 1 {
		return errors.Join(errs...) // alone, every torrent is this node's, and Restore seeded what it could
	}
	seeded := map[string]bool{}
	for _, s := range w.seeder.Stats().Torrents {
		if s.Complete {
			seeded[s.InfoHash.HexString()] = true
		}
	}
	for _, t := range ts {
		if ctx.Err() != nil {
			break
		}
		// Every node's tracker answers for every torrent, whichever node published it.
		if err := w.track(ctx, t); err != nil {
			errs = append(errs, err)
		}
		if t.Evicted {
			if seeded[t.InfoHash] { // retention ran on the node polling the feed
				errs = append(errs, w.drop(t))
			}
			continue
		}
		if w.assignedHere(t, live) {
			w.unassignedMu.Lock()
			delete(w.unassigned, t.InfoHash)
			w.unassignedMu.Unlock()
			if !seeded[t.InfoHash] {
				errs = append(errs, w.seedAssigned(ctx, t))
			}
			continue
		}
		if seeded[t.InfoHash] {
			errs = append(errs, w.dropUnassigned(ctx, t))
		}
	}
	return errors.Join(errs...)
}

// dropOrphans stops seeding torrents the store no longer has (their feed was removed, here or
// on another node, or by `seedcast feeds remove`). A torrent is dropped when it was unknown at
// two Reconciles in a row, so one seeded a moment before its row is written is never dropped.
func (w *Worker) dropOrphans(ts []store.Torrent) error {
	known := make(map[string]bool, len(ts))
	for _, t := range ts {
		known[t.InfoHash] = true
	}
	w.unassignedMu.Lock()
	defer w.unassignedMu.Unlock()
	now := map[string]bool{}
	var errs []error
	for _, s := range w.seeder.Stats().Torrents {
		ih := s.InfoHash.HexString()
		if known[ih] {
			continue
		}
		if !w.orphans[ih] {
			now[ih] = true
			continue
		}
		if err := w.seeder.Remove(s.InfoHash); err != nil && !errors.Is(err, seedbox.ErrUnknownTorrent) {
			errs = append(errs, fmt.Errorf("reconcile: drop %s: %w", ih, err))
			continue
		}
		w.log.Info("no longer seeding a torrent the store does not have (its feed was removed)", "info_hash", ih)
	}
	w.orphans = now
	return errors.Join(errs...)
}

// seedAssigned seeds a torrent this node was assigned: from its media when here (every piece
// hashed), else from a replica fetched over BitTorrent.
func (w *Worker) seedAssigned(ctx context.Context, t store.Torrent) error {
	mi, err := w.loadTorrent(ctx, t)
	if err != nil && !errors.Is(err, errMediaMismatch) {
		return fmt.Errorf("reconcile %s/%s: %w", t.FeedSlug, t.Key, err)
	}
	media := filepath.Join(w.cfg.DataDir, t.MediaPath)
	if fi, serr := os.Stat(media); serr != nil || fi.Size() != t.MediaSize {
		if mi == nil {
			// No .torrent here and none in the store: nothing to replicate with.
			return fmt.Errorf("reconcile %s/%s: %w", t.FeedSlug, t.Key, err)
		}
		os.Remove(media) // a wrong-sized leftover is never seeded
		// The disk floor holds per node: a replica is no reason to fill this node's disk.
		free, err := freeBytes(w.cfg.DataDir)
		if err != nil {
			return fmt.Errorf("reconcile %s/%s: disk space of %s: %w", t.FeedSlug, t.Key, w.cfg.DataDir, err)
		}
		if free-w.cfg.MinFreeBytes < t.MediaSize {
			return fmt.Errorf("reconcile %s/%s: %w: not replicated: data_dir has %s free, the file is %s and fetch.min_free_bytes keeps %s free",
				t.FeedSlug, t.Key, ErrDiskFloor, humanBytes(free), humanBytes(t.MediaSize), humanBytes(w.cfg.MinFreeBytes))
		}
		rctx, cancel := context.WithTimeout(ctx, replicateTimeout)
		defer cancel()
		w.log.Info("replicating from the swarm", "feed", t.FeedSlug, "key", t.Key, "info_hash", t.InfoHash)
		var seeders func() []netip.AddrPort
		if w.tracker != nil {
			ih := mi.HashInfoBytes()
			seeders = func() []netip.AddrPort { return w.tracker.Seeders(ih, replicaPeers) }
		}
		if err := seedbox.Replicate(rctx, mi, media, seeders, w.log); err != nil {
			return fmt.Errorf("reconcile %s/%s: %w", t.FeedSlug, t.Key, err)
		}
	}
	if err := w.announce(ctx, mi, media, false); err != nil {
		return fmt.Errorf("reconcile %s/%s: %w", t.FeedSlug, t.Key, err)
	}
	w.log.Info("seeding an assigned torrent", "feed", t.FeedSlug, "key", t.Key, "info_hash", t.InfoHash)
	return nil
}

// dropUnassigned stops seeding a torrent this node is no longer assigned, once it has been
// unassigned for UnassignedGrace, and removes its media.
func (w *Worker) dropUnassigned(ctx context.Context, t store.Torrent) error {
	now := w.now()
	w.unassignedMu.Lock()
	since, ok := w.unassigned[t.InfoHash]
	if !ok {
		w.unassigned[t.InfoHash] = now
	}
	w.unassignedMu.Unlock()
	if !ok || now.Sub(since) < w.cfg.UnassignedGrace {
		return nil
	}
	if err := w.drop(t); err != nil {
		return err
	}
	w.unassignedMu.Lock()
	delete(w.unassigned, t.InfoHash)
	w.unassignedMu.Unlock()
	w.log.Info("no longer seeding an unassigned torrent; media removed", "feed", t.FeedSlug, "key", t.Key, "info_hash", t.InfoHash)
	return nil
}

// drop stops seeding t here and removes its media here.
func (w *Worker) drop(t store.Torrent) error {
	ih, err := infoHash(t.InfoHash)
	if err != nil {
		return err
	}
	if err := w.seeder.Remove(ih); err != nil && !errors.Is(err, seedbox.ErrUnknownTorrent) {
		return fmt.Errorf("reconcile %s/%s: %w", t.FeedSlug, t.Key, err)
	}
	if err := os.Remove(filepath.Join(w.cfg.DataDir, t.MediaPath)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reconcile %s/%s: %w", t.FeedSlug, t.Key, err)
	}
	return nil
}

// track tells this node's tracker of t (from the store: its .torrent need not be here).
func (w *Worker) track(ctx context.Context, t store.Torrent) error {
	if w.tracker == nil {
		return nil
	}
	return w.allowStored(ctx, t)
}
