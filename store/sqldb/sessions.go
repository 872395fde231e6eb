package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seedcast/seedcast/store"
)

// CreateSession stores a dashboard session and deletes the expired ones, so the table holds
// only live sessions without a sweeper.
func (s *DB) CreateSession(ctx context.Context, sess store.Session) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM admin_sessions WHERE expires_at <= $1`, unix(sess.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO admin_sessions(id_hash, csrf, created_at, expires_at)
			VALUES($1, $2, $3, $4)`, sess.IDHash, sess.CSRF, unix(sess.CreatedAt), unix(sess.ExpiresAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// Session returns a live session by the hash of its cookie value.
func (s *DB) Session(ctx context.Context, idHash string, now time.Time) (store.Session, error) {
	var sess store.Session
	var created, expires int64
	err := s.r.QueryRowContext(ctx, `SELECT id_hash, csrf, created_at, expires_at FROM admin_sessions
		WHERE id_hash=$1 AND expires_at > $2`, idHash, unix(now)).Scan(&sess.IDHash, &sess.CSRF, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, fmt.Errorf("store: session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("store: session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = fromUnix(created), fromUnix(expires)
	return sess, nil
}

// DeleteSession signs a session out; deleting one that is gone is not an error.
func (s *DB) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM admin_sessions WHERE id_hash=$1`, idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}
