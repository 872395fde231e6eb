package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/seedcast/seedcast/store"
)

// feedHashes are the info hashes of every torrent a feed has had.
const feedHashes = `SELECT info_hash FROM episodes WHERE feed_slug = $1 AND info_hash != ''`

// FeedCompletions is Completions for every torrent the feed has had, in one query: a report
// reads them all, and one round trip per torrent is what a remote database makes slow.
func (s *DB) FeedCompletions(ctx context.Context, slug string) (map[string][]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT info_hash, at FROM completions WHERE info_hash IN (`+feedHashes+`)
		ORDER BY info_hash, at`, slug)
	if err != nil {
		return nil, fmt.Errorf("store: completions of feed %s: %w", slug, err)
	}
	defer rows.Close()
	out := map[string][]time.Time{}
	for rows.Next() {
		var ih string
		var at int64
		if err := rows.Scan(&ih, &at); err != nil {
			return nil, fmt.Errorf("store: completions of feed %s: %w", slug, err)
		}
		out[ih] = append(out[ih], fromUnix(at))
	}
	return out, rows.Err()
}

// FeedSnapshotsSince is SnapshotsSince for every torrent the feed has had, in one query.
func (s *DB) FeedSnapshotsSince(ctx context.Context, slug string, since time.Time) (map[string][]store.Snapshot, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tracker, info_hash, at, complete, incomplete, downloaded
		FROM snapshots AS s WHERE info_hash IN (`+feedHashes+`) AND at >= COALESCE(
			(SELECT MAX(at) FROM snapshots WHERE info_hash = s.info_hash AND tracker = s.tracker AND at <= $2), $2)
		ORDER BY info_hash, at, tracker`, slug, unix(since))
	if err != nil {
		return nil, fmt.Errorf("store: snapshots of feed %s: %w", slug, err)
	}
	snaps, err := scanSnapshots(rows)
	if err != nil {
		return nil, fmt.Errorf("store: snapshots of feed %s: %w", slug, err)
	}
	out := map[string][]store.Snapshot{}
	for _, sn := range snaps {
		out[sn.InfoHash] = append(out[sn.InfoHash], sn)
	}
	return out, nil
}
