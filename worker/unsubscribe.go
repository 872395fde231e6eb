package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
)

// Unsubscriber is the part of the store that removing a feed needs.
type Unsubscriber interface {
	RemoveFeed(ctx context.Context, slug string) error
}

// skipPoll reports whether the store says f is not to be polled now: paused, or a run-time feed
// removed meanwhile. A config feed not stored yet is polled (its first poll stores it).
func (w *Worker) skipPoll(ctx context.Context, f Feed) (bool, error) {
	stored, err := w.st.Feed(ctx, f.Slug)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if f.Runtime {
			w.log.Debug("poll skipped: feed removed", "feed", f.Slug)
		}
		return f.Runtime, nil
	case err != nil:
		return false, err
	case stored.Paused:
		w.log.Debug("poll skipped: feed paused", "feed", f.Slug)
		return true, nil
	}
	return false, nil
}

// Unsubscribe removes a feed added at run time: its torrents stop seeding here, its rows leave
// the store (store.ErrPinned for a config feed, which is removed from config.yaml instead), and
// with deleteMedia its media and .torrent files leave data_dir. Completions stay in the store.
// The caller stops scheduling the feed's polls first.
func (w *Worker) Unsubscribe(ctx context.Context, st Unsubscriber, slug string, deleteMedia bool) error {
	l := w.feedLock(slug)
	l.Lock() // no poll of this feed is halfway through on this node
	defer l.Unlock()
	f, err := w.st.Feed(ctx, slug)
	if err != nil {
		return fmt.Errorf("unsubscribe %s: %w", slug, err)
	}
	if f.Origin == store.OriginConfig {
		return fmt.Errorf("unsubscribe %s: %w", slug, store.ErrPinned)
	}
	var eps []store.Episode
	for _, list := range []func(context.Context, string) ([]store.Episode, error){w.st.Seeded, w.st.Published} {
		got, err := list(ctx, slug)
		if err != nil {
			return fmt.Errorf("unsubscribe %s: %w", slug, err)
		}
		eps = append(eps, got...)
	}
	// The rows go first: a crash after this leaves files nothing seeds, never a listed episode
	// whose media is gone.
	if err := st.RemoveFeed(ctx, slug); err != nil {
		return fmt.Errorf("unsubscribe %s: %w", slug, err)
	}
	var errs []error
	seen := map[string]bool{}
	for _, e := range eps {
		if e.InfoHash == "" || seen[e.InfoHash] {
			continue
		}
		seen[e.InfoHash] = true
		if w.seeder != nil {
			if ih, err := infoHash(e.InfoHash); err == nil {
				if err := w.seeder.Remove(ih); err != nil && !errors.Is(err, seedbox.ErrUnknownTorrent) {
					errs = append(errs, err)
				}
			}
		}
		if !deleteMedia {
			continue
		}
		for _, rel := range []string{e.MediaPath, e.TorrentPath} {
			if rel == "" {
				continue
			}
			if err := os.Remove(filepath.Join(w.cfg.DataDir, rel)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	w.log.Info("feed removed", "feed", slug, "torrents", len(seen), "media_deleted", deleteMedia)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unsubscribe %s: %w", slug, err)
	}
	return nil
}
