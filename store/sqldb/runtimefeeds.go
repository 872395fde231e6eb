package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seedcast/seedcast/store"
)

// AddFeed subscribes a feed added at run time. A slug or URL some feed already has is ErrExists:
// two operators adding the same show at once get one feed.
func (s *DB) AddFeed(ctx context.Context, slug, url string, ownerConsent bool, at time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var taken string
		err := tx.QueryRowContext(ctx, `SELECT slug FROM feeds WHERE slug=$1 OR url=$2 LIMIT 1`, slug, url).Scan(&taken)
		if err == nil {
			if taken == slug {
				return fmt.Errorf("slug %q: %w", slug, store.ErrExists)
			}
			return fmt.Errorf("%s is feed %q: %w", url, taken, store.ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO feeds(slug, url, origin, added_at, owner_consent)
			VALUES($1, $2, '`+store.OriginRuntime+`', $3, $4) ON CONFLICT(slug) DO NOTHING`,
			slug, url, unix(at), boolInt(ownerConsent))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("slug %q: %w", slug, store.ErrExists)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: add feed %s: %w", slug, err)
	}
	return nil
}

// SetPaused pauses or resumes a feed.
func (s *DB) SetPaused(ctx context.Context, slug string, paused bool) error {
	res, err := s.w.ExecContext(ctx, `UPDATE feeds SET paused=$1 WHERE slug=$2`, boolInt(paused), slug)
	if err == nil {
		err = mustAffect(res, slug)
	}
	if err != nil {
		return fmt.Errorf("store: pause feed %s: %w", slug, err)
	}
	return nil
}

// RemoveFeed deletes a run-time feed, its episodes and their .torrents in one transaction.
// Completions and snapshots are kept under their info hashes: figures already reported to a
// sponsor are not erased by unsubscribing.
func (s *DB) RemoveFeed(ctx context.Context, slug string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var origin string
		err := tx.QueryRowContext(ctx, `SELECT origin FROM feeds WHERE slug=$1`, slug).Scan(&origin)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if origin == store.OriginConfig {
			return store.ErrPinned
		}
		for _, q := range []string{
			`DELETE FROM torrent_files WHERE info_hash IN (SELECT info_hash FROM episodes WHERE feed_slug=$1 AND info_hash != '')`,
			`DELETE FROM episodes WHERE feed_slug=$1`,
			`DELETE FROM push_subscriptions WHERE feed_slug=$1`,
			`DELETE FROM push_announced WHERE feed_slug=$1`,
			`DELETE FROM feeds WHERE slug=$1`,
		} {
			if _, err := tx.ExecContext(ctx, q, slug); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: remove feed %s: %w", slug, err)
	}
	return nil
}

// mustAffect is ErrNotFound when res changed no row.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%q: %w", what, store.ErrNotFound)
	}
	return nil
}
