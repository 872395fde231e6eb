package sqldb

import (
	"context"
	"fmt"
	"github.com/seedcast/seedcast/store"
	"time"
)

// SnapshotsSince lists a torrent's scrape history from since onwards, oldest
// first, plus for each tracker the last snapshot taken at or before since: a
// window's figure is measured from that baseline, so it must be included.
func (s *DB) SnapshotsSince(ctx context.Context, infoHash string, since time.Time) ([]store.Snapshot, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tracker, info_hash, at, complete, incomplete, downloaded
		FROM snapshots AS s WHERE info_hash = $1 AND at >= COALESCE(
			(SELECT MAX(at) FROM snapshots WHERE info_hash = s.info_hash AND tracker = s.tracker AND at <= $2), $2)
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

// Reported lists what a feed's report counts, in source order: every
// published episode (an item without an enclosure too) and every torrent an
// episode has ever had, superseded, evicted or requeued for a new download,
// because their completions stay in the store and still count. The rows of
// one episode share ItemKey and EnclosureIndex; a superseded row is kept
// under its own key (see Supersede) with the position it had then.
func (s *DB) Reported(ctx context.Context, slug string) ([]store.Episode, error) {
	return s.episodes(ctx, `feed_slug=$1 AND (state='`+store.StatePublished+`' OR info_hash != '')
		ORDER BY position, enclosure_index, state = '`+store.StateSuperseded+`', published_at DESC, key`, slug)
}
