package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// copyTables are every table of the schema, a table before those that refer to it.
var copyTables = []string{"feeds", "episodes", "completions", "completion_events", "listener_salts",
	"snapshots", "tracker_peers", "torrent_files", "nodes",
	"admin_sessions", "submissions", "push_subscriptions", "push_announced",
	"audience_salts", "audience_listens", "audience_counts", "seeder_uploads",
	"seeder_uploads_daily"}

// Copy copies every row of src into dst, which must hold no feed, in one transaction: an
// installation moves from SQLite to PostgreSQL with every feed, episode, completion, salt,
// snapshot and saved tracker peer, so every report figure is the same after. The two schemas have
// the same tables and columns, so rows go across as they are. It returns the rows copied per
// table.
func Copy(ctx context.Context, dst, src *DB) (map[string]int64, error) {
	n, err := dst.FeedCount(ctx)
	if err != nil {
		return nil, fmt.Errorf("store copy: %w", err)
	}
	if n > 0 {
		return nil, fmt.Errorf("store copy: the destination already holds %d feeds: copy only into an empty store", n)
	}
	// One read transaction: every table as of one moment, even if src is being written.
	read, err := src.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store copy: %w", err)
	}
	defer read.Rollback()
	counts := make(map[string]int64)
	err = dst.inTx(ctx, func(tx *sql.Tx) error {
		clear(counts)
		for _, table := range copyTables {
			c, err := copyTable(ctx, tx, read, table)
			if err != nil {
				return fmt.Errorf("table %s: %w", table, err)
			}
			counts[table] = c
		}
		if dst.opts.AfterCopy != nil {
			return dst.opts.AfterCopy(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store copy: %w", err)
	}
	return counts, nil
}

func copyTable(ctx context.Context, tx, src *sql.Tx, table string) (int64, error) {
	rows, err := src.QueryContext(ctx, "SELECT * FROM "+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	marks := make([]string, len(cols))
	for i := range marks {
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	insert, err := tx.PrepareContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table,
		strings.Join(cols, ", "), strings.Join(marks, ", ")))
	if err != nil {
		return 0, err
	}
	defer insert.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if _, err := insert.ExecContext(ctx, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}
