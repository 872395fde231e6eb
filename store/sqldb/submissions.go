package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seedcast/seedcast/store"
)

const submissionCols = `id, url, token, owner_token_hash, status, slug, note, created_at, updated_at`

func scanSubmission(row scanner) (store.Submission, error) {
	var sub store.Submission
	var created, updated int64
	err := row.Scan(&sub.ID, &sub.URL, &sub.Token, &sub.OwnerTokenHash, &sub.Status, &sub.Slug, &sub.Note,
		&created, &updated)
	sub.CreatedAt, sub.UpdatedAt = fromUnix(created), fromUnix(updated)
	return sub, err
}

// AddSubmission stores a new submission.
func (s *DB) AddSubmission(ctx context.Context, sub store.Submission) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO submissions(`+submissionCols+`) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
		sub.ID, sub.URL, sub.Token, sub.OwnerTokenHash, sub.Status, sub.Slug, sub.Note,
		unix(sub.CreatedAt), unix(sub.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: add submission: %w", err)
	}
	return nil
}

// Submission returns one submission by id.
func (s *DB) Submission(ctx context.Context, id string) (store.Submission, error) {
	sub, err := scanSubmission(s.r.QueryRowContext(ctx, `SELECT `+submissionCols+` FROM submissions WHERE id=$1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Submission{}, fmt.Errorf("store: submission %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Submission{}, fmt.Errorf("store: submission %q: %w", id, err)
	}
	return sub, nil
}

// Submissions lists submissions, newest first.
func (s *DB) Submissions(ctx context.Context, limit int) ([]store.Submission, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+submissionCols+` FROM submissions
		ORDER BY created_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: submissions: %w", err)
	}
	defer rows.Close()
	var out []store.Submission
	for rows.Next() {
		sub, err := scanSubmission(rows)
		if err != nil {
			return nil, fmt.Errorf("store: submissions: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// UpdateSubmission records what a verification or the operator decided.
func (s *DB) UpdateSubmission(ctx context.Context, id, status, slug, note string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE submissions SET status=$1, slug=$2, note=$3, updated_at=$4 WHERE id=$5`,
		status, slug, note, unix(at), id)
	if err == nil {
		err = mustAffect(res, id)
	}
	if err != nil {
		return fmt.Errorf("store: update submission %s: %w", id, err)
	}
	return nil
}

// CountSubmissions counts the submissions in status created at or after since.
func (s *DB) CountSubmissions(ctx context.Context, status string, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM submissions WHERE status=$1 AND created_at>=$2`,
		status, unix(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count submissions: %w", err)
	}
	return n, nil
}
