package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seedcast/seedcast/store"
)

// SaveSubscription creates or replaces the feed's WebSub subscription.
func (s *DB) SaveSubscription(ctx context.Context, sub store.Subscription) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO push_subscriptions(feed_slug, hub, topic, secret,
		requested_at, verified_at, lease_until) VALUES($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT(feed_slug) DO UPDATE SET hub=excluded.hub, topic=excluded.topic, secret=excluded.secret,
		requested_at=excluded.requested_at, verified_at=excluded.verified_at, lease_until=excluded.lease_until`,
		sub.FeedSlug, sub.Hub, sub.Topic, sub.Secret, unix(sub.RequestedAt), unix(sub.VerifiedAt), unix(sub.LeaseUntil))
	if err != nil {
		return fmt.Errorf("store: save subscription of feed %s: %w", sub.FeedSlug, err)
	}
	return nil
}

const subscriptionCols = `feed_slug, hub, topic, secret, requested_at, verified_at, lease_until`

func scanSubscription(row scanner) (store.Subscription, error) {
	var sub store.Subscription
	var req, ver, lease int64
	err := row.Scan(&sub.FeedSlug, &sub.Hub, &sub.Topic, &sub.Secret, &req, &ver, &lease)
	sub.RequestedAt, sub.VerifiedAt, sub.LeaseUntil = fromUnix(req), fromUnix(ver), fromUnix(lease)
	return sub, err
}

// Subscription is the feed's subscription.
func (s *DB) Subscription(ctx context.Context, slug string) (store.Subscription, error) {
	sub, err := scanSubscription(s.r.QueryRowContext(ctx,
		`SELECT `+subscriptionCols+` FROM push_subscriptions WHERE feed_slug=$1`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return sub, fmt.Errorf("store: subscription of feed %s: %w", slug, store.ErrNotFound)
	}
	if err != nil {
		return sub, fmt.Errorf("store: subscription of feed %s: %w", slug, err)
	}
	return sub, nil
}

// Subscriptions lists every subscription by feed.
func (s *DB) Subscriptions(ctx context.Context) ([]store.Subscription, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+subscriptionCols+` FROM push_subscriptions ORDER BY feed_slug`)
	if err != nil {
		return nil, fmt.Errorf("store: subscriptions: %w", err)
	}
	defer rows.Close()
	var out []store.Subscription
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("store: subscriptions: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// DeleteSubscription forgets the feed's subscription (none is fine).
func (s *DB) DeleteSubscription(ctx context.Context, slug string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE feed_slug=$1`, slug); err != nil {
		return fmt.Errorf("store: delete subscription of feed %s: %w", slug, err)
	}
	return nil
}

// ClaimSubscribe is one conditional UPDATE, so of several nodes renewing one lease, one sends
// the request.
func (s *DB) ClaimSubscribe(ctx context.Context, slug string, now, since time.Time) (bool, error) {
	return s.claim(ctx, "claim subscribe of feed "+slug, `UPDATE push_subscriptions SET requested_at=$1
		WHERE feed_slug=$2 AND requested_at <= $3`, unix(now), slug, unix(since))
}

// ConfirmSubscription records a verified lease of the subscription for topic.
func (s *DB) ConfirmSubscription(ctx context.Context, slug, topic string, since, now, until time.Time) (bool, error) {
	return s.claim(ctx, "confirm subscription of feed "+slug, `UPDATE push_subscriptions SET verified_at=$1, lease_until=$2
		WHERE feed_slug=$3 AND topic=$4 AND requested_at > $5`, unix(now), unix(until), slug, topic, unix(since))
}

// ClaimAnnouncement moves the feed's announced version forward, if version is ahead of it.
func (s *DB) ClaimAnnouncement(ctx context.Context, slug string, version int64) (bool, error) {
	return s.claim(ctx, "claim announcement of feed "+slug, `INSERT INTO push_announced(feed_slug, version)
		VALUES($1, $2) ON CONFLICT(feed_slug) DO UPDATE SET version=excluded.version
		WHERE push_announced.version < excluded.version`, slug, version)
}

// claim runs one write and reports whether it changed a row.
func (s *DB) claim(ctx context.Context, what, query string, args ...any) (bool, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: %s: %w", what, err)
	}
	return n == 1, nil
}
