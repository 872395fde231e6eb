package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/seedcast/seedcast/store"
)

// SaveTrackerPeers replaces the saved tracker peers with peers.
func (s *DB) SaveTrackerPeers(ctx context.Context, peers []store.TrackerPeer) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tracker_peers`); err != nil {
			return err
		}
		for _, p := range peers {
			if _, err := tx.ExecContext(ctx, `INSERT INTO tracker_peers(info_hash, peer_id, addr, seeder,
				was_leecher, counted, last_seen) VALUES($1,$2,$3,$4,$5,$6,$7)`, p.InfoHash, p.PeerID[:], p.Addr,
				boolInt(p.Seeder), boolInt(p.WasLeecher), boolInt(p.Counted), unix(p.LastSeen)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: save tracker peers: %w", err)
	}
	return nil
}

// TakeTrackerPeers returns the saved tracker peers and deletes them: peer
// addresses stay on disk only while the gateway is stopped.
func (s *DB) TakeTrackerPeers(ctx context.Context) ([]store.TrackerPeer, error) {
	var out []store.TrackerPeer
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = scanTrackerPeers(ctx, tx); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM tracker_peers`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: take tracker peers: %w", err)
	}
	return out, nil
}

func scanTrackerPeers(ctx context.Context, tx *sql.Tx) ([]store.TrackerPeer, error) {
	rows, err := tx.QueryContext(ctx, `SELECT info_hash, peer_id, addr, seeder, was_leecher, counted,
		last_seen FROM tracker_peers`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.TrackerPeer
	for rows.Next() {
		var p store.TrackerPeer
		var id []byte
		var seen int64
		if err := rows.Scan(&p.InfoHash, &id, &p.Addr, &p.Seeder, &p.WasLeecher, &p.Counted, &seen); err != nil {
			return nil, err
		}
		if len(id) != len(p.PeerID) {
			continue // not written by SaveTrackerPeers
		}
		copy(p.PeerID[:], id)
		p.LastSeen = fromUnix(seen)
		out = append(out, p)
	}
	return out, rows.Err()
}
