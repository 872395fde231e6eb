package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/seedcast/seedcast/store"
	"time"
)

// FeedCount is how many feeds the store knows, subscribed or not.
func (s *DB) FeedCount(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM feeds").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: feed count: %w", err)
	}
	return n, nil
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// EnsureFeed creates the feed row for a configured slug, or updates its URL; either way the
// feed is config.yaml's from now on (pinned).
func (s *DB) EnsureFeed(ctx context.Context, slug, url string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO feeds(slug, url, origin) VALUES($1, $2, '`+store.OriginConfig+`')
		ON CONFLICT(slug) DO UPDATE SET url = excluded.url, origin = excluded.origin,
		-- validators from the old URL mean nothing to the new one
		etag = CASE WHEN feeds.url = excluded.url THEN feeds.etag ELSE '' END,
		last_modified = CASE WHEN feeds.url = excluded.url THEN feeds.last_modified ELSE '' END`, slug, url)
	if err != nil {
		return fmt.Errorf("store: ensure feed %s: %w", slug, err)
	}
	return nil
}

const feedCols = `slug, url, title, link, description, language, copyright, author, image_url,
	podcast_guid, extra, etag, last_modified, last_poll_at, last_ok_at, last_error, updated_at, warning,
	lease_node, error_kind, origin, paused, added_at, owner_consent`

type scanner interface{ Scan(dest ...any) error }

func scanFeed(row scanner) (store.Feed, error) {
	var f store.Feed
	var poll, ok, upd, added, paused, consent int64
	err := row.Scan(&f.Slug, &f.URL, &f.Title, &f.Link, &f.Description, &f.Language, &f.Copyright,
		&f.Author, &f.ImageURL, &f.PodcastGUID, &f.Extra, &f.ETag, &f.LastModified, &poll, &ok,
		&f.LastError, &upd, &f.Warning, &f.PolledBy, &f.ErrorKind, &f.Origin, &paused, &added, &consent)
	f.LastPollAt, f.LastOKAt, f.UpdatedAt, f.AddedAt = fromUnix(poll), fromUnix(ok), fromUnix(upd), fromUnix(added)
	f.Paused, f.OwnerConsent = paused != 0, consent != 0
	return f, err
}

// Feed returns one feed by slug, or ErrNotFound.
func (s *DB) Feed(ctx context.Context, slug string) (store.Feed, error) {
	f, err := scanFeed(s.r.QueryRowContext(ctx, "SELECT "+feedCols+" FROM feeds WHERE slug = $1", slug))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Feed{}, fmt.Errorf("store: feed %q: %w", slug, store.ErrNotFound)
	}
	if err != nil {
		return store.Feed{}, fmt.Errorf("store: feed %q: %w", slug, err)
	}
	return f, nil
}

// Feeds lists every feed, ordered by slug.
func (s *DB) Feeds(ctx context.Context) ([]store.Feed, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+feedCols+" FROM feeds ORDER BY slug")
	if err != nil {
		return nil, fmt.Errorf("store: feeds: %w", err)
	}
	defer rows.Close()
	var out []store.Feed
	for rows.Next() {
		f, err := scanFeed(rows)
		if err != nil {
			return nil, fmt.Errorf("store: feeds: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// SaveChannel stores the channel metadata of a successful parse together with
// the validators that fetched it, and the episodes it listed, in one
// transaction: new episodes arrive as pending, known ones get their metadata
// refreshed and keep their state and torrent. The feed's version and
// UpdatedAt move only when something stored changed: an origin that answers
// every poll with 200 and the same feed must not change the output feed's
// lastBuildDate and ETag, or every podcatcher would download it again.
func (s *DB) SaveChannel(ctx context.Context, f store.Feed, eps []store.Episode, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return saveChannel(ctx, tx, f, eps, at) })
}

func saveChannel(ctx context.Context, tx *sql.Tx, f store.Feed, eps []store.Episode, at time.Time) error {
	old, err := scanFeed(tx.QueryRowContext(ctx, "SELECT "+feedCols+" FROM feeds WHERE slug = $1", f.Slug))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: save feed %s: %w", f.Slug, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: save feed %s: %w", f.Slug, err)
	}
	changed := shownChannel(old) != shownChannel(f)
	delisted, err := delist(ctx, tx, f.Slug, eps, at)
	if err != nil {
		return err
	}
	changed = changed || delisted
	for _, e := range eps {
		c, err := saveEpisode(ctx, tx, f.Slug, e, at)
		if err != nil {
			return err
		}
		changed = changed || c
	}
	bump, updated := 0, old.UpdatedAt
	if changed {
		bump, updated = 1, at
	}
	_, err = tx.ExecContext(ctx, `UPDATE feeds SET title=$1, link=$2, description=$3, language=$4,
		copyright=$5, author=$6, image_url=$7, podcast_guid=$8, extra=$9, etag=$10, last_modified=$11,
		last_poll_at=$12, last_ok_at=$13, last_error='', error_kind='', updated_at=$14, version=version+$15, warning=$16 WHERE slug=$17`,
		f.Title, f.Link, f.Description, f.Language, f.Copyright, f.Author, f.ImageURL,
		f.PodcastGUID, f.Extra, f.ETag, f.LastModified, unix(at), unix(at), unix(updated), bump, f.Warning, f.Slug)
	if err != nil {
		return fmt.Errorf("store: save feed %s: %w", f.Slug, err)
	}
	return nil
}

// delist marks the feed's listed episodes that eps no longer lists, and
// reports whether there were any: an episode the podcaster removed leaves the
// output feed too (its torrent keeps seeding until retention removes it).
func delist(ctx context.Context, tx *sql.Tx, slug string, eps []store.Episode, at time.Time) (bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT key FROM episodes WHERE feed_slug=$1 AND unlisted_at=0`, slug)
	if err != nil {
		return false, fmt.Errorf("store: save feed %s: %w", slug, err)
	}
	var gone []string
	listed := make(map[string]bool, len(eps))
	for _, e := range eps {
		listed[e.Key] = true
	}
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			rows.Close()
			return false, fmt.Errorf("store: save feed %s: %w", slug, err)
		}
		if !listed[key] {
			gone = append(gone, key)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("store: save feed %s: %w", slug, err)
	}
	for _, key := range gone {
		if _, err := tx.ExecContext(ctx, `UPDATE episodes SET unlisted_at=$1 WHERE feed_slug=$2 AND key=$3`,
			unix(at), slug, key); err != nil {
			return false, fmt.Errorf("store: delist %s/%s: %w", slug, key, err)
		}
	}
	return len(gone) > 0, nil
}

// shownChannel is the channel metadata the output feed shows.
func shownChannel(f store.Feed) [9]string {
	return [9]string{f.Title, f.Link, f.Description, f.Language, f.Copyright, f.Author, f.ImageURL, f.PodcastGUID, f.Extra}
}

// saveEpisode inserts or refreshes one episode row and reports whether that
// changed anything but the time it was last seen.
func saveEpisode(ctx context.Context, tx *sql.Tx, slug string, e store.Episode, at time.Time) (bool, error) {
	// An item without an enclosure has nothing to download: it is
	// published as it is, so the output feed keeps it.
	state := store.StatePending
	if e.EnclosureURL == "" {
		state = store.StatePublished
	}
	itemKey := e.ItemKey
	if itemKey == "" {
		itemKey = e.Key
	}
	// The WHERE leaves a row that would not change alone, so the affected
	// row count says whether the poll brought anything new.
	res, err := tx.ExecContext(ctx, `INSERT INTO episodes(feed_slug, key, position, guid,
		guid_is_permalink, title, link, description, content, author, published, extra,
		enclosure_url, enclosure_type, enclosure_length, state, seen_at, item_key, enclosure_index,
		enclosure_attrs)
		VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)
		ON CONFLICT(feed_slug, key) DO UPDATE SET position=excluded.position,
		enclosure_attrs=excluded.enclosure_attrs,
		item_key=excluded.item_key, enclosure_index=excluded.enclosure_index,
		guid=excluded.guid, guid_is_permalink=excluded.guid_is_permalink, title=excluded.title,
		link=excluded.link, description=excluded.description, content=excluded.content,
		author=excluded.author, published=excluded.published, extra=excluded.extra,
		seen_at=excluded.seen_at, unlisted_at=0,
		-- a published episode keeps the enclosure its torrent was made from
		enclosure_url=CASE WHEN episodes.state='`+store.StatePublished+`' THEN episodes.enclosure_url ELSE excluded.enclosure_url END,
		enclosure_type=CASE WHEN episodes.state='`+store.StatePublished+`' THEN episodes.enclosure_type ELSE excluded.enclosure_type END,
		enclosure_length=CASE WHEN episodes.state='`+store.StatePublished+`' THEN episodes.enclosure_length ELSE excluded.enclosure_length END
		WHERE episodes.position <> excluded.position OR episodes.enclosure_attrs <> excluded.enclosure_attrs
		OR episodes.item_key <> excluded.item_key OR episodes.enclosure_index <> excluded.enclosure_index
		OR episodes.guid <> excluded.guid OR episodes.guid_is_permalink <> excluded.guid_is_permalink
		OR episodes.title <> excluded.title OR episodes.link <> excluded.link
		OR episodes.description <> excluded.description OR episodes.content <> excluded.content
		OR episodes.author <> excluded.author OR episodes.published <> excluded.published
		OR episodes.extra <> excluded.extra OR episodes.unlisted_at != 0
		OR (episodes.state <> '`+store.StatePublished+`' AND (episodes.enclosure_url <> excluded.enclosure_url
			OR episodes.enclosure_type <> excluded.enclosure_type
			OR episodes.enclosure_length <> excluded.enclosure_length))`,
		slug, e.Key, e.Position, e.GUID, boolInt(e.GUIDIsPermaLink), e.Title, e.Link, e.Description,
		e.Content, e.Author, unix(e.Published), e.Extra, e.EnclosureURL, e.EnclosureType,
		e.EnclosureLength, state, unix(at), itemKey, e.EnclosureIndex, e.EnclosureAttrs)
	if err != nil {
		return false, fmt.Errorf("store: save episode %s/%s: %w", slug, e.Key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return true, nil // an unknown count is taken as a change: a re-render costs little
	}
	if _, err := tx.ExecContext(ctx, `UPDATE episodes SET seen_at=$1 WHERE feed_slug=$2 AND key=$3`,
		unix(at), slug, e.Key); err != nil {
		return false, fmt.Errorf("store: save episode %s/%s: %w", slug, e.Key, err)
	}
	return false, nil
}

// RecordPoll notes a poll that did not change the channel: a 304 (errMsg
// empty) or a failure (errMsg says why, in plain words; kind classifies it).
func (s *DB) RecordPoll(ctx context.Context, slug string, at time.Time, kind, errMsg string) error {
	var err error
	if errMsg == "" {
		_, err = s.w.ExecContext(ctx, `UPDATE feeds SET last_poll_at=$1, last_ok_at=$2, last_error='', error_kind=''
			WHERE slug=$3`, unix(at), unix(at), slug)
	} else {
		_, err = s.w.ExecContext(ctx, `UPDATE feeds SET last_poll_at=$1, last_error=$2, error_kind=$3 WHERE slug=$4`,
			unix(at), errMsg, kind, slug)
	}
	if err != nil {
		return fmt.Errorf("store: record poll %s: %w", slug, err)
	}
	return nil
}

const episodeCols = `feed_slug, key, position, guid, guid_is_permalink, title, link, description,
	content, author, published, extra, enclosure_url, enclosure_type, enclosure_length, state, error,
	info_hash, torrent_path, torrent_size, media_path, media_size, sha256, published_at, seen_at,
	item_key, enclosure_index, evicted_at, media_etag, media_last_modified, enclosure_attrs, unlisted_at,
	torrent_sha256, info_hash_v2`

// FeedVersion is a number that changes whenever what the feed's output shows changes;
// ErrNotFound for an unknown slug. It is one indexed read, asked on every feed request, so that
// a change made by any process or node shows at once.
func (s *DB) FeedVersion(ctx context.Context, slug string) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, "SELECT version FROM feeds WHERE slug=$1", slug).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: feed %q: %w", slug, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: feed %q: %w", slug, err)
	}
	return v, nil
}
