package store

import (
	"context"
	"fmt"
	"time"
)

// SnapshotsSince lists a torrent's scrape history from since onwards, oldest
// first, plus for each tracker the last snapshot taken at or before since: a
// window's figure is measured from that baseline, so it must be included.
func (s *SQLite) SnapshotsSince(ctx context.Context, infoHash string, since time.Time) ([]Snapshot, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tracker, info_hash, at, complete, incomplete, downloaded
		FROM snapshots AS s WHERE info_hash = ?1 AND at >= COALESCE(
			(SELECT MAX(at) FROM snapshots WHERE info_hash = s.info_hash AND tracker = s.tracker AND at <= ?2), ?2)
		ORDER BY at, tracker`, infoHash, unix(since))
	if err != nil {
		return nil, fmt.Errorf("store: snapshots of %s since %s: %w", infoHash, since.Format(time.RFC3339), err)
	}
	out, err := scanSnapshots(rows)
	if err != nil {
		return nil, fmt.Errorf("store: snapshots of %s: %w", infoHash, err)
	}
	return out, nil
}
