package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"time"
)

// AddSeederUploads adds what node's seeder uploaded since its last call to its totals, in one
// transaction, so a call that fails adds nothing and the caller can send the same bytes again.
func (s *DB) AddSeederUploads(ctx context.Context, node string, at time.Time, bytes map[string]int64) error {
	if len(bytes) == 0 {
		return nil
	}
	// Sorted: two nodes' transactions take their rows in the same order.
	hashes := slices.Sorted(maps.Keys(bytes))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var sum int64
		for _, ih := range hashes {
			n := bytes[ih]
			if n <= 0 {
				continue
			}
			sum += n
			if _, err := tx.ExecContext(ctx, `INSERT INTO seeder_uploads(node, info_hash, bytes) VALUES($1, $2, $3)
				ON CONFLICT(node, info_hash) DO UPDATE SET bytes = seeder_uploads.bytes + excluded.bytes`,
				node, ih, n); err != nil {
				return fmt.Errorf("torrent %s: %w", ih, err)
			}
		}
		if sum == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO seeder_uploads_daily(day, node, bytes) VALUES($1, $2, $3)
			ON CONFLICT(day, node) DO UPDATE SET bytes = seeder_uploads_daily.bytes + excluded.bytes`,
			at.UTC().Format(time.DateOnly), node, sum)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: add seeder uploads of node %s: %w", node, err)
	}
	return nil
}

// FeedSeederUploads sums every node's uploads of every torrent the feed has had, in one query.
func (s *DB) FeedSeederUploads(ctx context.Context, slug string) (map[string]int64, error) {
	out, err := s.sums(ctx, `SELECT info_hash, CAST(SUM(bytes) AS BIGINT) FROM seeder_uploads
		WHERE info_hash IN (`+feedHashes+`) GROUP BY info_hash`, slug)
	if err != nil {
		return nil, fmt.Errorf("store: seeder uploads of feed %s: %w", slug, err)
	}
	return out, nil
}

// DailySeederUploads sums every node's uploads per UTC day, from since's day on.
func (s *DB) DailySeederUploads(ctx context.Context, since time.Time) (map[string]int64, error) {
	out, err := s.sums(ctx, `SELECT day, CAST(SUM(bytes) AS BIGINT) FROM seeder_uploads_daily
		WHERE day >= $1 GROUP BY day`, since.UTC().Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("store: daily seeder uploads: %w", err)
	}
	return out, nil
}
