package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/seedcast/seedcast/store"
	"strings"
	"time"
)

func scanEpisode(row scanner) (store.Episode, error) {
	var e store.Episode
	var pub, pubAt, seen, evicted, unlisted int64
	err := row.Scan(&e.FeedSlug, &e.Key, &e.Position, &e.GUID, &e.GUIDIsPermaLink, &e.Title, &e.Link,
		&e.Description, &e.Content, &e.Author, &pub, &e.Extra, &e.EnclosureURL, &e.EnclosureType,
		&e.EnclosureLength, &e.State, &e.Error, &e.InfoHash, &e.TorrentPath, &e.TorrentSize,
		&e.MediaPath, &e.MediaSize, &e.SHA256, &pubAt, &seen, &e.ItemKey, &e.EnclosureIndex, &evicted,
		&e.MediaETag, &e.MediaLastModified, &e.EnclosureAttrs, &unlisted, &e.TorrentSHA256, &e.InfoHashV2)
	e.Published, e.PublishedAt, e.SeenAt = fromUnix(pub), fromUnix(pubAt), fromUnix(seen)
	e.EvictedAt, e.UnlistedAt = fromUnix(evicted), fromUnix(unlisted)
	return e, err
}

func (s *DB) episodes(ctx context.Context, where string, args ...any) ([]store.Episode, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+episodeCols+" FROM episodes WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: episodes: %w", err)
	}
	defer rows.Close()
	var out []store.Episode
	for rows.Next() {
		e, err := scanEpisode(rows)
		if err != nil {
			return nil, fmt.Errorf("store: episodes: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: episodes: %w", err)
	}
	return out, nil
}

// Episode returns one episode, or ErrNotFound.
func (s *DB) Episode(ctx context.Context, slug, key string) (store.Episode, error) {
	e, err := scanEpisode(s.r.QueryRowContext(ctx,
		"SELECT "+episodeCols+" FROM episodes WHERE feed_slug=$1 AND key=$2", slug, key))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Episode{}, fmt.Errorf("store: episode %s/%s: %w", slug, key, store.ErrNotFound)
	}
	if err != nil {
		return store.Episode{}, fmt.Errorf("store: episode %s/%s: %w", slug, key, err)
	}
	return e, nil
}

// EpisodeByInfoHash returns the published episode whose torrent has that hash.
func (s *DB) EpisodeByInfoHash(ctx context.Context, infoHash string) (store.Episode, error) {
	e, err := scanEpisode(s.r.QueryRowContext(ctx,
		"SELECT "+episodeCols+" FROM episodes WHERE info_hash=$1 AND state='"+store.StatePublished+"'", infoHash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Episode{}, fmt.Errorf("store: info hash %s: %w", infoHash, store.ErrNotFound)
	}
	if err != nil {
		return store.Episode{}, fmt.Errorf("store: info hash %s: %w", infoHash, err)
	}
	return e, nil
}

// Unpublished lists the feed's episodes with an enclosure that still need a
// download (pending or failed) and that the source still lists, in source order.
func (s *DB) Unpublished(ctx context.Context, slug string) ([]store.Episode, error) {
	return s.episodes(ctx, `feed_slug=$1 AND state IN ('`+store.StatePending+`', '`+store.StateFailed+`') AND enclosure_url != ''
		AND unlisted_at = 0 ORDER BY position, enclosure_index`, slug)
}

// Published lists the feed's published episodes in source order, including
// those the source no longer lists (reports still count them).
func (s *DB) Published(ctx context.Context, slug string) ([]store.Episode, error) {
	return s.episodes(ctx, "feed_slug=$1 AND state='"+store.StatePublished+"' ORDER BY position, enclosure_index", slug)
}

// Listed lists what the output feed shows: the published episodes the
// source still lists, in source order.
func (s *DB) Listed(ctx context.Context, slug string) ([]store.Episode, error) {
	return s.episodes(ctx, `feed_slug=$1 AND state='`+store.StatePublished+`' AND unlisted_at = 0
		ORDER BY position, enclosure_index`, slug)
}

// Publish marks an episode published with its torrent. It is the single
// moment an episode becomes visible in the output feed.
func (s *DB) Publish(ctx context.Context, slug, key string, p store.Publication) error {
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error {
		if err := saveTorrentFile(ctx, tx, p.InfoHash, p.TorrentData); err != nil {
			return fmt.Errorf("store: publish %s/%s: %w", slug, key, err)
		}
		if _, err := tx.ExecContext(ctx, keepReplacedTorrent, unix(p.At), slug, key, p.InfoHash); err != nil {
			return fmt.Errorf("store: publish %s/%s: keep the torrent it replaces: %w", slug, key, err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE episodes SET state='`+store.StatePublished+`', error='', info_hash=$1,
			torrent_path=$2, torrent_size=$3, media_path=$4, media_size=$5, sha256=$6, published_at=$7,
			media_etag=$8, media_last_modified=$9, evicted_at=0, unsynced_boot=$10, torrent_sha256=$11,
			made_by=$14, info_hash_v2=$15 WHERE feed_slug=$12 AND key=$13`, p.InfoHash, p.TorrentPath, p.TorrentSize, p.MediaPath,
			p.MediaSize, p.SHA256, unix(p.At), p.ETag, p.LastModified, p.UnsyncedBoot, p.TorrentSHA256, slug, key, p.Node,
			p.InfoHashV2)
		if err != nil {
			return fmt.Errorf("store: publish %s/%s: %w", slug, key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: publish %s/%s: %w", slug, key, store.ErrNotFound)
		}
		return nil
	})
}

// copyAsideCols are every column of episodes, for copying a row aside under another key.
const copyAsideCols = episodeCols + ", unsynced_boot, made_by"

// copyAside copies an episode's row, as superseded, to the key key@info_hash, so its torrent
// keeps seeding and its completions stay in the episode's report; the original row is then
// free to carry a new publication. $1 and $2 are the feed and key.
var copyAside = `INSERT INTO episodes (` + copyAsideCols + `) SELECT ` +
	strings.NewReplacer(" key,", " key || '@' || info_hash,", " state,", " '"+store.StateSuperseded+"',").Replace(" "+copyAsideCols) + `
	FROM episodes WHERE feed_slug=$1 AND key=$2 AND info_hash != ''`

// keepReplacedTorrent copies aside, as a superseded and evicted version, the
// torrent a requeued episode had before it is published with another one (its
// media was damaged and the origin now serves other bytes), so the old
// torrent's completions stay in the episode's report, as Supersede keeps them.
var keepReplacedTorrent = `INSERT INTO episodes (` + copyAsideCols + `) SELECT ` +
	strings.NewReplacer(" key,", " key || '@' || info_hash,", " state,", " '"+store.StateSuperseded+"',",
		" evicted_at,", " $1,").Replace(" "+copyAsideCols) + `
	FROM episodes WHERE feed_slug=$2 AND key=$3 AND info_hash != '' AND info_hash != $4
	ON CONFLICT DO NOTHING`

// changeFeed runs fn and bumps the feed's version in one transaction.
func (s *DB) changeFeed(ctx context.Context, slug string, fn func(tx *sql.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE feeds SET version=version+1 WHERE slug=$1`, slug); err != nil {
			return fmt.Errorf("store: %s: %w", slug, err)
		}
		return nil
	})
}

// MarkSynced records that a published episode's media is on stable storage.
// It does not change what the feed shows.
func (s *DB) MarkSynced(ctx context.Context, slug, key string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE episodes SET unsynced_boot='' WHERE feed_slug=$1 AND key=$2`, slug, key); err != nil {
		return fmt.Errorf("store: mark synced %s/%s: %w", slug, key, err)
	}
	return nil
}

// Supersede retires a published episode whose enclosure changed: its row
// moves aside under a new key (its torrent keeps seeding) so the identity can
// be downloaded again and published with a new torrent.
func (s *DB) Supersede(ctx context.Context, slug, key string) error {
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE episodes SET state='`+store.StateSuperseded+`', key = key || '@' || info_hash
			WHERE feed_slug=$1 AND key=$2 AND state='`+store.StatePublished+`' AND info_hash != ''`, slug, key)
		if err != nil {
			return fmt.Errorf("store: supersede %s/%s: %w", slug, key, err)
		}
		return nil
	})
}

// Replace gives a published episode a new torrent, made from the enclosure
// given, in one transaction, as Supersede then Publish would, but without the episode ever leaving the
// feed in between: a copy of the old row goes aside (superseded, still seeding) and the row
// under the key carries the new publication.
func (s *DB) Replace(ctx context.Context, slug, key, enclosureURL, enclosureType string, enclosureLength int64, p store.Publication) error {
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error {
		fail := func(err error) error { return fmt.Errorf("store: replace %s/%s: %w", slug, key, err) }
		if err := saveTorrentFile(ctx, tx, p.InfoHash, p.TorrentData); err != nil {
			return fail(err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM episodes WHERE feed_slug=$1 AND key=$2
			AND state='`+store.StatePublished+`' AND info_hash != ''`, slug, key).Scan(&n); err != nil {
			return fail(err)
		}
		if n == 0 {
			return fail(store.ErrNotFound)
		}
		steps := []struct {
			q    string
			args []any
		}{
			{copyAside, []any{slug, key}},
			{`UPDATE episodes SET state='` + store.StatePublished + `', error='', info_hash=$1, torrent_path=$2, torrent_size=$3,
				media_path=$4, media_size=$5, sha256=$6, published_at=$7, media_etag=$8, media_last_modified=$9,
				evicted_at=0, unsynced_boot=$10, enclosure_url=$11, enclosure_type=$12, enclosure_length=$13,
				torrent_sha256=$14, made_by=$17, info_hash_v2=$18 WHERE feed_slug=$15 AND key=$16`,
				[]any{p.InfoHash, p.TorrentPath, p.TorrentSize, p.MediaPath, p.MediaSize, p.SHA256, unix(p.At),
					p.ETag, p.LastModified, p.UnsyncedBoot, enclosureURL, enclosureType, enclosureLength,
					p.TorrentSHA256, slug, key, p.Node, p.InfoHashV2}},
		}
		for _, st := range steps {
			if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
				return fail(err)
			}
		}
		return nil
	})
}

// KeepMedia records that a published episode's enclosure, downloaded again
// because the origin or the feed suggested a change, has the same bytes: the
// torrent stays, only the origin's validators and the declared length are
// updated. The feed's version changes only if the declared length did.
func (s *DB) KeepMedia(ctx context.Context, slug, key, etag, lastModified string, declaredLength int64) error {
	update := func(ex interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}) error {
		_, err := ex.ExecContext(ctx, `UPDATE episodes SET media_etag=$1, media_last_modified=$2,
			enclosure_length=$3 WHERE feed_slug=$4 AND key=$5 AND state='`+store.StatePublished+`'`,
			etag, lastModified, declaredLength, slug, key)
		if err != nil {
			return fmt.Errorf("store: keep media %s/%s: %w", slug, key, err)
		}
		return nil
	}
	var old int64
	err := s.r.QueryRowContext(ctx, `SELECT enclosure_length FROM episodes WHERE feed_slug=$1 AND key=$2
		AND state='`+store.StatePublished+`'`, slug, key).Scan(&old)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: keep media %s/%s: %w", slug, key, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: keep media %s/%s: %w", slug, key, err)
	}
	if old == declaredLength {
		return update(s.w)
	}
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error { return update(tx) })
}

// Seeded lists a feed's torrents whose media is still on disk, newest
// first: current episodes by publication date, then superseded ones and
// those the source no longer lists, which retention removes before any
// current episode.
func (s *DB) Seeded(ctx context.Context, slug string) ([]store.Episode, error) {
	return s.episodes(ctx, `feed_slug=$1 AND state IN ('`+store.StatePublished+`', '`+store.StateSuperseded+`') AND info_hash != ''
		AND evicted_at = 0
		ORDER BY state = '`+store.StateSuperseded+`' OR unlisted_at != 0, COALESCE(NULLIF(published, 0), published_at) DESC, position, enclosure_index`, slug)
}

// Evict records that retention removed an episode's media: it stays in the
// feed (served by its web seed and other peers) but is no longer seeded here.
func (s *DB) Evict(ctx context.Context, slug, key string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE episodes SET evicted_at=$1 WHERE feed_slug=$2 AND key=$3`,
		unix(at), slug, key)
	if err != nil {
		return fmt.Errorf("store: evict %s/%s: %w", slug, key, err)
	}
	return nil
}

// SetTorrentFile records the size and SHA-256 of a .torrent written again (see worker's
// rebuild): the feeds give the size as the enclosure length, so the feed's version moves.
func (s *DB) SetTorrentFile(ctx context.Context, slug, key string, size int64, sha256 string) error {
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE episodes SET torrent_size=$1, torrent_sha256=$2
			WHERE feed_slug=$3 AND key=$4`, size, sha256, slug, key); err != nil {
			return fmt.Errorf("store: set torrent file %s/%s: %w", slug, key, err)
		}
		return nil
	})
}

// Requeue sends a published episode back to pending (out of the feed) so it
// is downloaded again: its media was found damaged or missing.
func (s *DB) Requeue(ctx context.Context, slug, key, why string) error {
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE episodes SET state='`+store.StatePending+`', error=$1
			WHERE feed_slug=$2 AND key=$3 AND state='`+store.StatePublished+`'`, why, slug, key)
		if err != nil {
			return fmt.Errorf("store: requeue %s/%s: %w", slug, key, err)
		}
		return nil
	})
}

// Fail records why an episode's download failed; it stays eligible for retry.
func (s *DB) Fail(ctx context.Context, slug, key, msg string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE episodes SET state='`+store.StateFailed+`', error=$1
		WHERE feed_slug=$2 AND key=$3 AND state IN ('`+store.StatePending+`', '`+store.StateFailed+`')`, msg, slug, key)
	if err != nil {
		return fmt.Errorf("store: fail %s/%s: %w", slug, key, err)
	}
	return nil
}

// Torrents lists every published torrent, for the seeder and the tracker.
func (s *DB) Torrents(ctx context.Context) ([]store.Torrent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT feed_slug, key, info_hash, torrent_path, torrent_size,
		torrent_sha256, media_path, media_size, enclosure_url, title, published_at, evicted_at != 0, unsynced_boot,
		made_by, EXISTS (SELECT 1 FROM torrent_files f WHERE f.info_hash = episodes.info_hash), info_hash_v2
		FROM episodes WHERE state IN ('`+store.StatePublished+`', '`+store.StateSuperseded+`') AND info_hash != ''
		ORDER BY feed_slug, position`)
	if err != nil {
		return nil, fmt.Errorf("store: torrents: %w", err)
	}
	defer rows.Close()
	var out []store.Torrent
	for rows.Next() {
		var t store.Torrent
		var published int64
		if err := rows.Scan(&t.FeedSlug, &t.Key, &t.InfoHash, &t.TorrentPath, &t.TorrentSize, &t.TorrentSHA256, &t.MediaPath,
			&t.MediaSize, &t.EnclosureURL, &t.Title, &published, &t.Evicted, &t.UnsyncedBoot, &t.MadeBy, &t.Kept, &t.InfoHashV2); err != nil {
			return nil, fmt.Errorf("store: torrents: %w", err)
		}
		t.PublishedAt = fromUnix(published)
		out = append(out, t)
	}
	return out, rows.Err()
}

// MediaInUse reports whether a torrent still seeds the file at relPath
// (published or superseded, not evicted).
func (s *DB) MediaInUse(ctx context.Context, relPath string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM episodes WHERE media_path=$1
		AND state IN ('`+store.StatePublished+`', '`+store.StateSuperseded+`') AND info_hash != '' AND evicted_at = 0`, relPath).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: media in use %s: %w", relPath, err)
	}
	return n > 0, nil
}

// StateCounts counts a feed's episodes with an enclosure by state.
func (s *DB) StateCounts(ctx context.Context, slug string) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM episodes
		WHERE feed_slug=$1 AND enclosure_url != '' GROUP BY state`, slug)
	if err != nil {
		return nil, fmt.Errorf("store: state counts %s: %w", slug, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("store: state counts %s: %w", slug, err)
		}
		out[state] = n
	}
	return out, rows.Err()
}

// Failed lists a feed's episodes whose last download failed.
func (s *DB) Failed(ctx context.Context, slug string) ([]store.Episode, error) {
	return s.episodes(ctx, "feed_slug=$1 AND state='"+store.StateFailed+"' ORDER BY position", slug)
}

// AllStateCounts counts the episodes with an enclosure of every feed by state.
func (s *DB) AllStateCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM episodes WHERE enclosure_url != '' GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("store: state counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("store: state counts: %w", err)
		}
		out[state] = n
	}
	return out, rows.Err()
}
