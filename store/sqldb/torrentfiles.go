package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/seedcast/seedcast/store"
)

// TorrentFile returns a kept .torrent, or ErrNotFound.
func (s *DB) TorrentFile(ctx context.Context, infoHash string) ([]byte, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM torrent_files WHERE info_hash=$1`, infoHash).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: torrent file %s: %w", infoHash, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: torrent file %s: %w", infoHash, err)
	}
	return data, nil
}

// SaveTorrentFile keeps a .torrent; the first bytes kept for an info hash stay.
func (s *DB) SaveTorrentFile(ctx context.Context, infoHash string, data []byte) error {
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return saveTorrentFile(ctx, tx, infoHash, data) }); err != nil {
		return fmt.Errorf("store: save torrent file %s: %w", infoHash, err)
	}
	return nil
}

func saveTorrentFile(ctx context.Context, tx *sql.Tx, infoHash string, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO torrent_files(info_hash, data) VALUES($1, $2)
		ON CONFLICT DO NOTHING`, infoHash, data)
	return err
}
