// Package sqlite is the embedded store driver: one SQLite file in data_dir (modernc.org/sqlite,
// no cgo), WAL mode, one writer connection and a small pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/seedcast/seedcast/store/sqldb"
)

// Open opens (creating if needed) the database at path and migrates it.
func Open(ctx context.Context, path string) (*sqldb.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// synchronous(FULL): a committed publication survives power loss too, and
	// writes are rare enough that the cost does not matter.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1) // SQLite allows one writer at a time
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", path, err)
	}
	return sqldb.New(sqldb.Options{Write: w, Read: r, Search: search,
		Check: func(ctx context.Context) error { return quickCheck(ctx, r) }}), nil
}

// migrate applies the migrations not yet applied; PRAGMA user_version records how many ran.
// Each runs in its own write transaction (BEGIN IMMEDIATE), so two processes opening the same
// file at once apply each exactly once.
func migrate(ctx context.Context, w *sql.DB) error {
	for {
		done, err := migrateOne(ctx, w)
		if err != nil || done {
			return err
		}
	}
}

func migrateOne(ctx context.Context, w *sql.DB) (done bool, err error) {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, err
	}
	if version >= len(migrations) {
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// quickCheck reads every page of the database (PRAGMA quick_check). A damaged page answers
// queries with "database disk image is malformed" only when they reach it, long after start;
// health checks ask this instead. It is O(database size): callers cache the answer.
func quickCheck(ctx context.Context, r *sql.DB) error {
	rows, err := r.QueryContext(ctx, "PRAGMA quick_check(10)")
	if err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return fmt.Errorf("store: check: %w", err)
		}
		if msg != "ok" {
			problems = append(problems, msg)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("store: check: %s", strings.Join(problems, "; "))
	}
	return nil
}
