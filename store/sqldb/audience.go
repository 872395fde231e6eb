package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/seedcast/seedcast/store"
)

// periodStart is the first UTC day of the AudiencePeriod holding t: periods are counted from
// the Unix epoch, so every node and restart agrees on them without asking.
func periodStart(t time.Time) time.Time {
	n := t.UTC().Unix() / int64(store.AudiencePeriod/time.Second)
	return time.Unix(n*int64(store.AudiencePeriod/time.Second), 0).UTC()
}

// AudienceSalt returns the salt of the audience period holding at, storing fresh when it has
// none, and deletes the salts before the previous period: once gone, that period's listener
// keys cannot be matched to addresses.
func (s *DB) AudienceSalt(ctx context.Context, at time.Time, fresh []byte) ([]byte, error) {
	start := periodStart(at)
	var salt []byte
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM audience_salts WHERE period < $1`,
			utcDay(start.Add(-store.AudiencePeriod))); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audience_salts(period, salt) VALUES($1,$2) ON CONFLICT DO NOTHING`,
			utcDay(start), fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT salt FROM audience_salts WHERE period = $1`, utcDay(start)).Scan(&salt)
	})
	if err != nil {
		return nil, fmt.Errorf("store: audience salt: %w", err)
	}
	return salt, nil
}

// RecordListen stores l once per torrent, kind, listener and UTC day and, when new, counts it
// under its client and country.
func (s *DB) RecordListen(ctx context.Context, l store.Listen) (bool, error) {
	day := utcDay(l.At)
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audience_listens(info_hash, day, kind, listener, at)
			VALUES($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING`, l.InfoHash, day, l.Kind, l.Listener, unix(l.At))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audience_counts(info_hash, day, kind, client, country, n)
			VALUES($1,$2,$3,$4,$5,1) ON CONFLICT(info_hash, day, kind, client, country)
			DO UPDATE SET n = audience_counts.n + 1`, l.InfoHash, day, l.Kind, l.Client, l.Country)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: record %s of %s: %w", l.Kind, l.InfoHash, err)
	}
	return n == 1, nil
}

// PruneListens deletes the per-listener rows older than before.
func (s *DB) PruneListens(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM audience_listens WHERE at < $1`, unix(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune listens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune listens: %w", err)
	}
	return n, nil
}

// FeedListens lists the feed's download listens from since onwards, by info hash.
func (s *DB) FeedListens(ctx context.Context, slug string, since time.Time) (map[string][]store.Listen, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT info_hash, listener, at FROM audience_listens
		WHERE info_hash IN (`+feedHashes+`) AND kind = $2 AND at >= $3
		ORDER BY info_hash, at, listener`, slug, store.ListenDownload, unix(since))
	if err != nil {
		return nil, fmt.Errorf("store: listens of feed %s: %w", slug, err)
	}
	defer rows.Close()
	out := map[string][]store.Listen{}
	for rows.Next() {
		l := store.Listen{Kind: store.ListenDownload}
		var at int64
		if err := rows.Scan(&l.InfoHash, &l.Listener, &at); err != nil {
			return nil, fmt.Errorf("store: listens of feed %s: %w", slug, err)
		}
		l.At = fromUnix(at)
		out[l.InfoHash] = append(out[l.InfoHash], l)
	}
	return out, rows.Err()
}

// FeedAudienceCounts lists the feed's audience counts, by info hash.
func (s *DB) FeedAudienceCounts(ctx context.Context, slug string) (map[string][]store.AudienceCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT info_hash, day, kind, client, country, n FROM audience_counts
		WHERE info_hash IN (`+feedHashes+`) ORDER BY info_hash, day, kind, client, country`, slug)
	if err != nil {
		return nil, fmt.Errorf("store: audience counts of feed %s: %w", slug, err)
	}
	defer rows.Close()
	out := map[string][]store.AudienceCount{}
	for rows.Next() {
		var ih string
		var c store.AudienceCount
		if err := rows.Scan(&ih, &c.Day, &c.Kind, &c.Client, &c.Country, &c.N); err != nil {
			return nil, fmt.Errorf("store: audience counts of feed %s: %w", slug, err)
		}
		out[ih] = append(out[ih], c)
	}
	return out, rows.Err()
}

// FeedCompletionEvents is the raw completions of every torrent the feed has had.
func (s *DB) FeedCompletionEvents(ctx context.Context, slug string) (map[string]int64, error) {
	out, err := s.sums(ctx, `SELECT info_hash, CAST(SUM(n) AS BIGINT) FROM completion_events
		WHERE info_hash IN (`+feedHashes+`) GROUP BY info_hash`, slug)
	if err != nil {
		return nil, fmt.Errorf("store: completion events of feed %s: %w", slug, err)
	}
	return out, nil
}

// sums runs a query of (key, integer) rows into a map.
func (s *DB) sums(ctx context.Context, query string, args ...any) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}
