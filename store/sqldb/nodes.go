package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Heartbeat records n as alive at n.LastSeen.
func (s *DB) Heartbeat(ctx context.Context, n store.Node) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO nodes(name, started_at, last_seen, seeding, disk_bytes)
		VALUES($1, $2, $3, $4, $5) ON CONFLICT(name) DO UPDATE SET started_at=excluded.started_at,
		last_seen=excluded.last_seen, seeding=excluded.seeding, disk_bytes=excluded.disk_bytes`,
		n.Name, unix(n.StartedAt), unix(n.LastSeen), n.Seeding, n.DiskBytes)
	if err != nil {
		return fmt.Errorf("store: heartbeat of node %s: %w", n.Name, err)
	}
	return nil
}

// ListNodes lists every node that ever sent a heartbeat, by name.
func (s *DB) ListNodes(ctx context.Context) ([]store.Node, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, started_at, last_seen, seeding, disk_bytes FROM nodes ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: nodes: %w", err)
	}
	defer rows.Close()
	var out []store.Node
	for rows.Next() {
		var n store.Node
		var started, seen int64
		if err := rows.Scan(&n.Name, &started, &seen, &n.Seeding, &n.DiskBytes); err != nil {
			return nil, fmt.Errorf("store: nodes: %w", err)
		}
		n.StartedAt, n.LastSeen = fromUnix(started), fromUnix(seen)
		out = append(out, n)
	}
	return out, rows.Err()
}

// LeaseFeed takes or renews the feed's poll lease in one statement: the row lock that UPDATE
// takes (PostgreSQL) or the single writer (SQLite) makes two nodes' attempts one after the other,
// and the second sees the first's lease.
func (s *DB) LeaseFeed(ctx context.Context, slug, node string, now, until time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE feeds SET lease_node=$1, lease_until=$2
		WHERE slug=$3 AND (lease_node=$1 OR lease_until < $4)`, node, unix(until), slug, unix(now))
	if err != nil {
		return false, fmt.Errorf("store: lease feed %s: %w", slug, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: lease feed %s: %w", slug, err)
	}
	return n == 1, nil
}

// ReleaseFeed ends node's lease of the feed, keeping the name as the feed's PolledBy.
func (s *DB) ReleaseFeed(ctx context.Context, slug, node string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE feeds SET lease_until=0 WHERE slug=$1 AND lease_node=$2`, slug, node); err != nil {
		return fmt.Errorf("store: release feed %s: %w", slug, err)
	}
	return nil
}
