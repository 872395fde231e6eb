// Package sqldb is the store on a SQL database: every query of the store contract, written once
// in the SQL that SQLite and PostgreSQL share ($n placeholders, ON CONFLICT upserts, explicit id
// columns instead of rowid, integers for booleans). The drivers, store/sqlite and
// store/postgres, open the connections, migrate their schema and say how to check the database.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Options are what a driver gives DB.
type Options struct {
	// Write takes every write (SQLite: its one connection, the only writer); Read serves reads.
	// They may be the same pool.
	Write, Read *sql.DB
	// WriteTx are the options of write transactions. PostgreSQL runs them serializable, so two
	// nodes' read-then-write never interleave; Retryable says which failures (a serialization
	// conflict) mean "run the transaction again".
	WriteTx   *sql.TxOptions
	Retryable func(error) bool
	// Check looks for damage in the database (see DB.Check).
	Check func(context.Context) error
	// AfterCopy runs at the end of Copy's transaction into this database (PostgreSQL: move the
	// snapshot id sequence past the copied ids).
	AfterCopy func(context.Context, *sql.Tx) error
	// Search is the driver's full-text search (see Search).
	Search Search
}

// DB implements store.Store on database/sql.
type DB struct {
	w, r *sql.DB
	opts Options
}

var _ store.Store = (*DB)(nil)

// New returns the store on o's connections; Close closes them.
func New(o Options) *DB {
	return &DB{w: o.Write, r: o.Read, opts: o}
}

// Close closes the connection pools.
func (s *DB) Close() error {
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// Check fails when the database is damaged, for /healthz. It may read the whole database:
// callers cache the answer.
func (s *DB) Check(ctx context.Context) error {
	if s.opts.Check == nil {
		return s.r.PingContext(ctx)
	}
	return s.opts.Check(ctx)
}

// maxTxAttempts bounds how often a write transaction is run again after conflicts.
const maxTxAttempts = 30

// inTx runs fn in a write transaction and commits it, running it again (up to maxTxAttempts)
// while the failure is one the driver calls retryable. fn must have no effect outside tx.
func (s *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = s.tryTx(ctx, fn)
		if err == nil || s.opts.Retryable == nil || !s.opts.Retryable(err) || attempt == maxTxAttempts {
			return err
		}
		// A random pause, growing to 64 ms, lets the transaction it lost to commit; the jitter
		// keeps two writers that collided from colliding again in step.
		pause := time.Millisecond + rand.N(time.Duration(1<<min(attempt, 6))*time.Millisecond)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %d conflicts)", err, attempt)
		case <-time.After(pause):
		}
	}
}

func (s *DB) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, s.opts.WriteTx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// boolInt is how booleans are stored: as 0 or 1, in both schemas.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
