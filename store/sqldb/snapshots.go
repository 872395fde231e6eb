package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/seedcast/seedcast/store"
)

// AddSnapshots stores scrape results in one transaction. Only changes take
// room: a scrape equal to the two latest of its torrent and tracker moves the
// latest one's time instead of adding a row, so a run of equal scrapes keeps
// its first and last. An idle back catalogue scraped every 10 minutes would
// otherwise add a row per torrent and tracker each time, for ever.
func (s *DB) AddSnapshots(ctx context.Context, snaps []store.Snapshot) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, sn := range snaps {
			if err := addSnapshot(ctx, tx, sn); err != nil {
				return fmt.Errorf("store: add snapshot %s@%s: %w", sn.InfoHash, sn.Tracker, err)
			}
		}
		return nil
	})
}

func addSnapshot(ctx context.Context, tx *sql.Tx, sn store.Snapshot) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, complete, incomplete, downloaded FROM snapshots
		WHERE info_hash=$1 AND tracker=$2 ORDER BY at DESC, id DESC LIMIT 2`, sn.InfoHash, sn.Tracker)
	if err != nil {
		return err
	}
	var ids []int64 // newest first
	same := 0
	for rows.Next() {
		var id, complete, incomplete, downloaded int64
		if err := rows.Scan(&id, &complete, &incomplete, &downloaded); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
		if complete == sn.Complete && incomplete == sn.Incomplete && downloaded == sn.Downloaded {
			same++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if same == 2 {
		_, err = tx.ExecContext(ctx, `UPDATE snapshots SET at=$1 WHERE id=$2`, unix(sn.At), ids[0])
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO snapshots(tracker, info_hash, at, complete,
		incomplete, downloaded) VALUES($1,$2,$3,$4,$5,$6)`, sn.Tracker, sn.InfoHash, unix(sn.At),
		sn.Complete, sn.Incomplete, sn.Downloaded)
	return err
}

// Snapshots lists a torrent's scrape history on every tracker, oldest first.
func (s *DB) Snapshots(ctx context.Context, infoHash string) ([]store.Snapshot, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tracker, info_hash, at, complete, incomplete, downloaded
		FROM snapshots WHERE info_hash=$1 ORDER BY at, tracker`, infoHash)
	if err != nil {
		return nil, fmt.Errorf("store: snapshots %s: %w", infoHash, err)
	}
	out, err := scanSnapshots(rows)
	if err != nil {
		return nil, fmt.Errorf("store: snapshots %s: %w", infoHash, err)
	}
	return out, nil
}

// scanSnapshots reads snapshot rows (tracker, info_hash, at, complete,
// incomplete, downloaded) and closes them.
func scanSnapshots(rows *sql.Rows) ([]store.Snapshot, error) {
	defer rows.Close()
	var out []store.Snapshot
	for rows.Next() {
		var sn store.Snapshot
		var at int64
		if err := rows.Scan(&sn.Tracker, &sn.InfoHash, &at, &sn.Complete, &sn.Incomplete, &sn.Downloaded); err != nil {
			return nil, err
		}
		sn.At = fromUnix(at)
		out = append(out, sn)
	}
	return out, rows.Err()
}
