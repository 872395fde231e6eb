package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
)

// errMediaMismatch says no torrent made from the media on disk has the published info hash.
var errMediaMismatch = errors.New("media does not hash to the published torrent")

// loadTorrent reads a published .torrent and checks it against the store: it must parse, have
// the published info hash and the recorded size and SHA-256. A damaged one (a bad sector, a stray
// edit) is written again from the copy the store keeps, or, for a torrent published before the
// store kept them, made again from the verified media with the same info hash; the operator is
// told which file. A sound file the store has no copy of is copied into the store.
func (w *Worker) loadTorrent(ctx context.Context, t store.Torrent) (*metainfo.MetaInfo, error) {
	path := filepath.Join(w.cfg.DataDir, t.TorrentPath)
	mi, b, why := readTorrent(path, t)
	if why == "" {
		if !t.Kept { // Torrents says so: no read of the copy at every start
			if err := w.st.SaveTorrentFile(ctx, t.InfoHash, b); err != nil {
				w.log.Warn("keeping the .torrent in the store", "file", path, "err", err)
			}
		}
		return mi, nil
	}
	kept, err := w.st.TorrentFile(ctx, t.InfoHash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if mi, _, keptWhy := parseTorrent(kept, t); err == nil && keptWhy == "" {
		w.log.Warn("damaged torrent file: written again from the store's copy", "feed", t.FeedSlug, "key", t.Key,
			"file", path, "why", why)
		if err := seedbox.WriteFileAtomic(path, kept); err != nil {
			return nil, err
		}
		return mi, nil
	}
	if t.Evicted {
		return nil, fmt.Errorf("torrent file %s is damaged (%s), the store has no copy and its media was evicted: it cannot be made again", path, why)
	}
	w.log.Warn("damaged torrent file: making it again from the media", "feed", t.FeedSlug, "key", t.Key,
		"file", path, "why", why)
	mi, err = w.rebuildTorrent(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("torrent file %s is damaged (%s): %w", path, why, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	size, sum, err := seedbox.WriteTorrentFileSum(path, mi)
	if err != nil {
		return nil, err
	}
	if size != t.TorrentSize || sum != t.TorrentSHA256 {
		if err := w.st.SetTorrentFile(ctx, t.FeedSlug, t.Key, size, sum); err != nil {
			return nil, err
		}
	}
	if b, err := os.ReadFile(path); err == nil {
		if err := w.st.SaveTorrentFile(ctx, t.InfoHash, b); err != nil {
			w.log.Warn("keeping the .torrent in the store", "file", path, "err", err)
		}
	}
	w.log.Info("torrent file made again", "feed", t.FeedSlug, "key", t.Key, "file", path, "info_hash", t.InfoHash)
	return mi, nil
}

// readTorrent loads path and says what is wrong with it ("" = nothing).
func readTorrent(path string, t store.Torrent) (*metainfo.MetaInfo, []byte, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err.Error()
	}
	mi, _, why := parseTorrent(b, t)
	return mi, b, why
}

// parseTorrent checks b against what the store recorded of t's .torrent.
func parseTorrent(b []byte, t store.Torrent) (*metainfo.MetaInfo, []byte, string) {
	if len(b) == 0 {
		return nil, nil, "it is empty"
	}
	if sum := sha256.Sum256(b); t.TorrentSHA256 != "" && hex.EncodeToString(sum[:]) != t.TorrentSHA256 {
		return nil, nil, "its SHA-256 is not the one it was written with"
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		return nil, nil, err.Error()
	}
	if ih := mi.HashInfoBytes().HexString(); ih != t.InfoHash {
		return nil, nil, fmt.Sprintf("its info hash is %s, not the published %s", ih, t.InfoHash)
	}
	if t.TorrentSize > 0 && int64(len(b)) != t.TorrentSize {
		return nil, nil, fmt.Sprintf("it is %d bytes, not the published %d", len(b), t.TorrentSize)
	}
	return mi, b, ""
}

// rebuildTorrent hashes the media again and makes the torrent as makeTorrent did, v1 or hybrid as
// it was published: the info dictionary (name, source, length, piece length, pieces, v2 tree)
// comes from the file and the episode, so the same bytes give the same info hash; the piece
// length and the name are the candidates that match (torrentIdentities: today's names and the
// storage names of older torrents).
func (w *Worker) rebuildTorrent(ctx context.Context, t store.Torrent) (*metainfo.MetaInfo, error) {
	media := filepath.Join(w.cfg.DataDir, t.MediaPath)
	fi, err := os.Stat(media)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMediaMismatch, err)
	}
	if fi.Size() != t.MediaSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, not %d", errMediaMismatch, t.MediaPath, fi.Size(), t.MediaSize)
	}
	ids := torrentIdentities(t.MediaPath, t.EnclosureURL, t.Title)
	for _, pl := range seedbox.PieceLengths(t.MediaSize) {
		d := seedbox.Download{Path: media, Size: t.MediaSize, PieceLength: pl}
		var err error
		if t.InfoHashV2 != "" { // published hybrid: the v2 tree is part of the info dictionary
			d.Pieces, d.Merkle, err = seedbox.HashFileV2(ctx, media, pl, 0)
		} else {
			d.Pieces, err = seedbox.HashFile(ctx, media, pl, 0)
		}
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			mi, err := seedbox.BuildMetaInfo(d,
				seedbox.MetaOptions{
					Name:         id[0],
					Source:       id[1],
					AnnounceList: w.cfg.AnnounceList,
					WebSeeds:     []string{t.EnclosureURL},
					CreatedBy:    w.cfg.CreatedBy,
					CreationDate: t.PublishedAt,
					Comment:      t.Title,
				})
			if err != nil {
				return nil, err
			}
			if mi.HashInfoBytes().HexString() == t.InfoHash {
				return mi, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: no piece length of %s gives info hash %s", errMediaMismatch, t.MediaPath, t.InfoHash)
}
