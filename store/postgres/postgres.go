// Package postgres is the store driver for PostgreSQL (github.com/jackc/pgx/v5 through
// database/sql), for gateways that outgrow one machine: several nodes share one database.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store/sqldb"
)

// migrationLock is the advisory lock key under which migrations run, so that nodes starting at
// once apply each migration exactly once ("seedcast" in ASCII).
const migrationLock = 0x7365656463617374

// Open connects to the database at dsn (a libpq URL or key=value string) and migrates it.
func Open(ctx context.Context, dsn string) (*sqldb.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres %s: %w", redactDSN(dsn), err)
	}
	db.SetMaxOpenConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres %s: %w", redactDSN(dsn), err)
	}
	if err := Migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres %s: migrate: %w", redactDSN(dsn), err)
	}
	return sqldb.New(sqldb.Options{
		Write: db, Read: db,
		// Serializable: the read-then-write transactions (a poll's SaveChannel, a Publish) of two
		// nodes must not interleave; a conflict is run again.
		WriteTx:   &sql.TxOptions{Isolation: sql.LevelSerializable},
		Retryable: retryable,
		Search:    search,
		Check:     func(ctx context.Context) error { return check(ctx, db) },
		AfterCopy: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('snapshots', 'id'),
				COALESCE((SELECT MAX(id) FROM snapshots), 0) + 1, false)`)
			return err
		},
	}), nil
}

// Migrate applies the migrations not yet applied, holding an advisory lock for the whole run.
func Migrate(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx) // the lock belongs to a session: keep one connection
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT NOT NULL)`); err != nil {
		return err
	}
	var version int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("the database is at schema version %d, newer than this seedcast knows (%d): upgrade seedcast",
			version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations(version) VALUES($1)", i+1); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// retryable reports a serialization failure or deadlock: the transaction lost a race with
// another one and may simply run again.
func retryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40001" || pg.Code == "40P01")
}

// check answers /healthz: the server is reachable and the schema readable. PostgreSQL checks its
// own pages (and data checksums, where enabled) as it reads them.
func check(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	return nil
}

// redactDSN hides a password in a DSN shown in errors and logs, in either form.
func redactDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		return safehttp.RedactURL(dsn)
	}
	return passwordField.ReplaceAllString(dsn, "${1}xxxxx")
}

var passwordField = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)

// nodeLockClass is the first key of the advisory lock a node holds under its name while it
// polls and seeds: two processes with one node.name would take each other's leases and
// assignments for their own.
const nodeLockClass = 0x73656564 // "seed"

// ErrNodeNameInUse says another process runs under the same node.name on this store.
var ErrNodeNameInUse = errors.New("another seedcast process with this node.name is running on this store (give each node its own node.name)")

// LockNode takes the lock of node name on a connection of its own, which holds it until unlock
// is called or the process dies (PostgreSQL drops a dead session's locks).
func LockNode(ctx context.Context, dsn, name string) (unlock func() error, err error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres %s: %w", redactDSN(dsn), err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: postgres %s: %w", redactDSN(dsn), err)
	}
	var ok bool
	err = conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, hashtext($2))", nodeLockClass, name).Scan(&ok)
	if err != nil || !ok {
		conn.Close()
		db.Close()
		if err == nil {
			err = fmt.Errorf("node %s: %w", name, ErrNodeNameInUse)
		}
		return nil, fmt.Errorf("store: postgres %s: %w", redactDSN(dsn), err)
	}
	return func() error { return errors.Join(conn.Close(), db.Close()) }, nil
}
