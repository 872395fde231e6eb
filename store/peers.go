package store

import (
	"context"
	"fmt"
	"time"
)

// TrackerPeer is one peer of the embedded tracker, kept across a restart so
// that a download started before it is still counted when it completes after.
type TrackerPeer struct {
	InfoHash   string // 40 lowercase hex characters
	PeerID     [20]byte
	Addr       string // ip:port
	Seeder     bool
	WasLeecher bool // announced with bytes left: its completion counts
	Counted    bool
	LastSeen   time.Time
}

// SaveTrackerPeers replaces the saved tracker peers with peers.
func (s *SQLite) SaveTrackerPeers(ctx context.Context, peers []TrackerPeer) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: save tracker peers: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM tracker_peers`); err != nil {
		return fmt.Errorf("store: save tracker peers: %w", err)
	}
	for _, p := range peers {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tracker_peers(info_hash, peer_id, addr, seeder,
			was_leecher, counted, last_seen) VALUES(?,?,?,?,?,?,?)`, p.InfoHash, p.PeerID[:], p.Addr,
			p.Seeder, p.WasLeecher, p.Counted, unix(p.LastSeen)); err != nil {
			return fmt.Errorf("store: save tracker peer: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: save tracker peers: %w", err)
	}
	return nil
}

// TakeTrackerPeers returns the saved tracker peers and deletes them: peer
// addresses stay on disk only while the gateway is stopped.
func (s *SQLite) TakeTrackerPeers(ctx context.Context) ([]TrackerPeer, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: take tracker peers: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT info_hash, peer_id, addr, seeder, was_leecher, counted,
		last_seen FROM tracker_peers`)
	if err != nil {
		return nil, fmt.Errorf("store: take tracker peers: %w", err)
	}
	var out []TrackerPeer
	for rows.Next() {
		var p TrackerPeer
		var id []byte
		var seen int64
		if err := rows.Scan(&p.InfoHash, &id, &p.Addr, &p.Seeder, &p.WasLeecher, &p.Counted, &seen); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: take tracker peers: %w", err)
		}
		if len(id) != len(p.PeerID) {
			continue // not written by SaveTrackerPeers
		}
		copy(p.PeerID[:], id)
		p.LastSeen = fromUnix(seen)
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: take tracker peers: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM tracker_peers`); err != nil {
		return nil, fmt.Errorf("store: take tracker peers: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: take tracker peers: %w", err)
	}
	return out, nil
}
