package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RecordCompletion stores one plausible completion by listener (a key the
// tracker derives) at at: it always adds to the raw figure of at's UTC day,
// and adds a counted download unless that listener was already counted for
// the torrent that day, which it reports.
func (s *DB) RecordCompletion(ctx context.Context, infoHash, listener string, at time.Time) (bool, error) {
	day := utcDay(at)
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO completion_events(info_hash, day, n) VALUES($1,$2,1)
			ON CONFLICT(info_hash, day) DO UPDATE SET n = completion_events.n + 1`, infoHash, day); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO completions(info_hash, day, peer_key, at) VALUES($1,$2,$3,$4)
			ON CONFLICT DO NOTHING`, infoHash, day, listener, unix(at))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: record completion %s: %w", infoHash, err)
	}
	return n == 1, nil
}

// CompletionEvents is the raw figure of a torrent: every plausible completion
// recorded, before the per-listener, per-day dedupe.
func (s *DB) CompletionEvents(ctx context.Context, infoHash string) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM completion_events WHERE info_hash=$1", infoHash).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: completion events %s: %w", infoHash, err)
	}
	return n, nil
}

// ListenerSalt returns the salt of day's listener keys, storing fresh as it
// when the day has none yet, and deletes the salts of days before the
// previous one: once gone, a day's keys cannot be matched to addresses.
func (s *DB) ListenerSalt(ctx context.Context, day time.Time, fresh []byte) ([]byte, error) {
	var salt []byte
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM listener_salts WHERE day < $1`, utcDay(day.AddDate(0, 0, -1))); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO listener_salts(day, salt) VALUES($1,$2) ON CONFLICT DO NOTHING`,
			utcDay(day), fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT salt FROM listener_salts WHERE day = $1`, utcDay(day)).Scan(&salt)
	})
	if err != nil {
		return nil, fmt.Errorf("store: listener salt: %w", err)
	}
	return salt, nil
}

// utcDay names t's UTC day, as completions and salts are keyed.
func utcDay(t time.Time) string { return t.UTC().Format("2006-01-02") }

// CompletionCount is the torrent's counted downloads: one per listener per UTC day.
func (s *DB) CompletionCount(ctx context.Context, infoHash string) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM completions WHERE info_hash=$1", infoHash).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: completion count %s: %w", infoHash, err)
	}
	return n, nil
}

// Completions lists the completion times of a torrent, oldest first.
func (s *DB) Completions(ctx context.Context, infoHash string) ([]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT at FROM completions WHERE info_hash=$1 ORDER BY at", infoHash)
	if err != nil {
		return nil, fmt.Errorf("store: completions %s: %w", infoHash, err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, fmt.Errorf("store: completions %s: %w", infoHash, err)
		}
		out = append(out, fromUnix(at))
	}
	return out, rows.Err()
}
