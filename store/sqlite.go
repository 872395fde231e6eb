package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SQLite is the embedded store: one file in data_dir, WAL mode, one writer
// connection and a small pool of readers.
type SQLite struct {
	w *sql.DB // exactly one connection: SQLite allows one writer at a time
	r *sql.DB

	// FeedVersion is asked on every feed request, so recent answers are kept
	// in memory (see FeedVersion).
	versionMu sync.Mutex
	versions  map[string]cachedVersion
	writes    atomic.Int64 // bumped after each commit that changes a feed's version
}

// cachedVersion is one FeedVersion answer, good while no write happened in
// this process since (gen) and for versionTTL at most.
type cachedVersion struct {
	v   int64
	gen int64
	at  time.Time
}

// versionTTL bounds how long a feed version read from the database is reused:
// the time a change made by another process (`seedcast poll` beside `seedcast
// serve`) takes to reach the served feed. Changes made through this *SQLite
// are seen at once.
const versionTTL = time.Second

// migrations are applied in order; PRAGMA user_version records how many ran.
var migrations = []string{
	`CREATE TABLE feeds (
		slug TEXT PRIMARY KEY,
		url TEXT NOT NULL,
		title TEXT NOT NULL DEFAULT '',
		link TEXT NOT NULL DEFAULT '',
		description TEXT NOT NULL DEFAULT '',
		language TEXT NOT NULL DEFAULT '',
		copyright TEXT NOT NULL DEFAULT '',
		author TEXT NOT NULL DEFAULT '',
		image_url TEXT NOT NULL DEFAULT '',
		podcast_guid TEXT NOT NULL DEFAULT '',
		extra TEXT NOT NULL DEFAULT '',
		etag TEXT NOT NULL DEFAULT '',
		last_modified TEXT NOT NULL DEFAULT '',
		last_poll_at INTEGER NOT NULL DEFAULT 0,
		last_ok_at INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT '',
		updated_at INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE episodes (
		feed_slug TEXT NOT NULL REFERENCES feeds(slug),
		key TEXT NOT NULL,
		position INTEGER NOT NULL DEFAULT 0,
		guid TEXT NOT NULL DEFAULT '',
		guid_is_permalink INTEGER NOT NULL DEFAULT 0,
		title TEXT NOT NULL DEFAULT '',
		link TEXT NOT NULL DEFAULT '',
		description TEXT NOT NULL DEFAULT '',
		content TEXT NOT NULL DEFAULT '',
		author TEXT NOT NULL DEFAULT '',
		published INTEGER NOT NULL DEFAULT 0,
		extra TEXT NOT NULL DEFAULT '',
		enclosure_url TEXT NOT NULL DEFAULT '',
		enclosure_type TEXT NOT NULL DEFAULT '',
		enclosure_length INTEGER NOT NULL DEFAULT 0,
		state TEXT NOT NULL,
		error TEXT NOT NULL DEFAULT '',
		info_hash TEXT NOT NULL DEFAULT '',
		torrent_path TEXT NOT NULL DEFAULT '',
		torrent_size INTEGER NOT NULL DEFAULT 0,
		media_path TEXT NOT NULL DEFAULT '',
		media_size INTEGER NOT NULL DEFAULT 0,
		sha256 TEXT NOT NULL DEFAULT '',
		published_at INTEGER NOT NULL DEFAULT 0,
		seen_at INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (feed_slug, key)
	);
	CREATE INDEX episodes_info_hash ON episodes(info_hash) WHERE info_hash != '';
	CREATE TABLE completions (
		info_hash TEXT NOT NULL,
		peer_key TEXT NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY (info_hash, peer_key)
	);
	CREATE INDEX completions_at ON completions(info_hash, at);
	CREATE TABLE snapshots (
		tracker TEXT NOT NULL,
		info_hash TEXT NOT NULL,
		at INTEGER NOT NULL,
		complete INTEGER NOT NULL,
		incomplete INTEGER NOT NULL,
		downloaded INTEGER NOT NULL
	);
	CREATE INDEX snapshots_hash ON snapshots(info_hash, tracker, at);`,
	`ALTER TABLE episodes ADD COLUMN item_key TEXT NOT NULL DEFAULT '';
	ALTER TABLE episodes ADD COLUMN enclosure_index INTEGER NOT NULL DEFAULT 0;
	UPDATE episodes SET item_key = key;`,
	`ALTER TABLE episodes ADD COLUMN evicted_at INTEGER NOT NULL DEFAULT 0;`,
	// version counts changes to what a feed's output shows, so the publisher
	// can serve a cached rendering after reading one row.
	`ALTER TABLE feeds ADD COLUMN version INTEGER NOT NULL DEFAULT 0;`,
	`ALTER TABLE episodes ADD COLUMN media_etag TEXT NOT NULL DEFAULT '';
	ALTER TABLE episodes ADD COLUMN media_last_modified TEXT NOT NULL DEFAULT '';`,
	`ALTER TABLE episodes ADD COLUMN enclosure_attrs TEXT NOT NULL DEFAULT '';`,
	// unsynced_boot names the OS boot that published media not yet fsynced ('' = durable).
	`ALTER TABLE episodes ADD COLUMN unsynced_boot TEXT NOT NULL DEFAULT '';`,
	// unlisted_at is when the source stopped listing the episode (0 = listed).
	`ALTER TABLE episodes ADD COLUMN unlisted_at INTEGER NOT NULL DEFAULT 0;`,
	compactSnapshots,
	// tracker_peers holds the embedded tracker's swarms while the gateway is
	// stopped (written at shutdown, taken at start).
	`CREATE TABLE tracker_peers (
		info_hash TEXT NOT NULL,
		peer_id BLOB NOT NULL,
		addr TEXT NOT NULL,
		seeder INTEGER NOT NULL,
		was_leecher INTEGER NOT NULL,
		counted INTEGER NOT NULL,
		last_seen INTEGER NOT NULL
	);`,
	countedDownloads,
	// warning says what the last good poll left out (fetch.max_items).
	`ALTER TABLE feeds ADD COLUMN warning TEXT NOT NULL DEFAULT '';`,
	// torrent_sha256 is the hash of the .torrent as written, so a start can tell any damage to
	// it ('' = published before it was kept: the info hash and size are checked instead).
	`ALTER TABLE episodes ADD COLUMN torrent_sha256 TEXT NOT NULL DEFAULT '';`,
}

// countedDownloads makes a counted download one per torrent, listener and UTC
// day (peer_key now holds a salted listener key, see tracker's listener.go):
// earlier rows are kept as counted rows of their day with their old key.
// completion_events is the raw figure (every plausible completion, per peer),
// listener_salts the daily salts of the listener keys.
const countedDownloads = `CREATE TABLE completions_by_day (
		info_hash TEXT NOT NULL,
		day TEXT NOT NULL,
		peer_key TEXT NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY (info_hash, day, peer_key)
	);
	INSERT INTO completions_by_day(info_hash, day, peer_key, at)
		SELECT info_hash, strftime('%Y-%m-%d', at / 1000000000, 'unixepoch'), peer_key, at FROM completions;
	DROP TABLE completions;
	ALTER TABLE completions_by_day RENAME TO completions;
	CREATE INDEX completions_at ON completions(info_hash, at);
	CREATE TABLE completion_events (
		info_hash TEXT NOT NULL,
		day TEXT NOT NULL,
		n INTEGER NOT NULL,
		PRIMARY KEY (info_hash, day)
	);
	INSERT INTO completion_events(info_hash, day, n)
		SELECT info_hash, day, COUNT(*) FROM completions GROUP BY info_hash, day;
	CREATE TABLE listener_salts (
		day TEXT PRIMARY KEY,
		salt BLOB NOT NULL
	);`

// compactSnapshots deletes the inside of every run of equal snapshots (same
// torrent, tracker and figures), keeping each run's first and last: what
// AddSnapshots has stored since, applied once to the history before it.
const compactSnapshots = `DELETE FROM snapshots WHERE rowid IN (
	SELECT rowid FROM (
		SELECT rowid, complete AS c, incomplete AS i, downloaded AS d,
			LAG(complete) OVER w AS pc, LAG(incomplete) OVER w AS pi, LAG(downloaded) OVER w AS pd,
			LEAD(complete) OVER w AS nc, LEAD(incomplete) OVER w AS ni, LEAD(downloaded) OVER w AS nd
		FROM snapshots WINDOW w AS (PARTITION BY info_hash, tracker ORDER BY at, rowid))
	WHERE c = pc AND i = pi AND d = pd AND c = nc AND i = ni AND d = nd);`

// OpenSQLite opens (creating if needed) the database at path and migrates it.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// synchronous(FULL): a committed publication survives power loss too, and
	// writes are rare enough that the cost does not matter.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s := &SQLite{w: w, r: r, versions: make(map[string]cachedVersion)}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: migrate %s: %w", path, err)
	}
	return s, nil
}

func (s *SQLite) migrate(ctx context.Context) error {
	var version int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	for i := version; i < len(migrations); i++ {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// Check reads every page of the database (PRAGMA quick_check). A damaged page answers queries
// with "database disk image is malformed" only when they reach it, long after start; health
// checks ask this instead. It is O(database size): callers cache the answer.
func (s *SQLite) Check(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, "PRAGMA quick_check(10)")
	if err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var msg string
		if err := rows.Scan(&msg); err != nil {
			return fmt.Errorf("store: check: %w", err)
		}
		if msg != "ok" {
			problems = append(problems, msg)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("store: check: %s", strings.Join(problems, "; "))
	}
	return nil
}

// FeedCount is how many feeds the store knows, subscribed or not.
func (s *SQLite) FeedCount(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM feeds").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: feed count: %w", err)
	}
	return n, nil
}

// Close closes both connection pools.
func (s *SQLite) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
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

// EnsureFeed creates the feed row for a configured slug, or updates its URL.
func (s *SQLite) EnsureFeed(ctx context.Context, slug, url string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO feeds(slug, url) VALUES(?, ?)
		ON CONFLICT(slug) DO UPDATE SET url = excluded.url,
		-- validators from the old URL mean nothing to the new one
		etag = CASE WHEN url = excluded.url THEN etag ELSE '' END,
		last_modified = CASE WHEN url = excluded.url THEN last_modified ELSE '' END`, slug, url)
	if err != nil {
		return fmt.Errorf("store: ensure feed %s: %w", slug, err)
	}
	return nil
}

const feedCols = `slug, url, title, link, description, language, copyright, author, image_url,
	podcast_guid, extra, etag, last_modified, last_poll_at, last_ok_at, last_error, updated_at, warning`

type scanner interface{ Scan(dest ...any) error }

func scanFeed(row scanner) (Feed, error) {
	var f Feed
	var poll, ok, upd int64
	err := row.Scan(&f.Slug, &f.URL, &f.Title, &f.Link, &f.Description, &f.Language, &f.Copyright,
		&f.Author, &f.ImageURL, &f.PodcastGUID, &f.Extra, &f.ETag, &f.LastModified, &poll, &ok,
		&f.LastError, &upd, &f.Warning)
	f.LastPollAt, f.LastOKAt, f.UpdatedAt = fromUnix(poll), fromUnix(ok), fromUnix(upd)
	return f, err
}

// Feed returns one feed by slug, or ErrNotFound.
func (s *SQLite) Feed(ctx context.Context, slug string) (Feed, error) {
	f, err := scanFeed(s.r.QueryRowContext(ctx, "SELECT "+feedCols+" FROM feeds WHERE slug = ?", slug))
	if errors.Is(err, sql.ErrNoRows) {
		return Feed{}, fmt.Errorf("store: feed %q: %w", slug, ErrNotFound)
	}
	if err != nil {
		return Feed{}, fmt.Errorf("store: feed %q: %w", slug, err)
	}
	return f, nil
}

// Feeds lists every feed, ordered by slug.
func (s *SQLite) Feeds(ctx context.Context) ([]Feed, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+feedCols+" FROM feeds ORDER BY slug")
	if err != nil {
		return nil, fmt.Errorf("store: feeds: %w", err)
	}
	defer rows.Close()
	var out []Feed
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
func (s *SQLite) SaveChannel(ctx context.Context, f Feed, eps []Episode, at time.Time) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: save feed %s: %w", f.Slug, err)
	}
	defer tx.Rollback()
	old, err := scanFeed(tx.QueryRowContext(ctx, "SELECT "+feedCols+" FROM feeds WHERE slug = ?", f.Slug))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: save feed %s: %w", f.Slug, ErrNotFound)
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
	_, err = tx.ExecContext(ctx, `UPDATE feeds SET title=?, link=?, description=?, language=?,
		copyright=?, author=?, image_url=?, podcast_guid=?, extra=?, etag=?, last_modified=?,
		last_poll_at=?, last_ok_at=?, last_error='', updated_at=?, version=version+?, warning=? WHERE slug=?`,
		f.Title, f.Link, f.Description, f.Language, f.Copyright, f.Author, f.ImageURL,
		f.PodcastGUID, f.Extra, f.ETag, f.LastModified, unix(at), unix(at), unix(updated), bump, f.Warning, f.Slug)
	if err != nil {
		return fmt.Errorf("store: save feed %s: %w", f.Slug, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: save feed %s: %w", f.Slug, err)
	}
	s.writes.Add(1)
	return nil
}

// delist marks the feed's listed episodes that eps no longer lists, and
// reports whether there were any: an episode the podcaster removed leaves the
// output feed too (its torrent keeps seeding until retention removes it).
func delist(ctx context.Context, tx *sql.Tx, slug string, eps []Episode, at time.Time) (bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT key FROM episodes WHERE feed_slug=? AND unlisted_at=0`, slug)
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
		if _, err := tx.ExecContext(ctx, `UPDATE episodes SET unlisted_at=? WHERE feed_slug=? AND key=?`,
			unix(at), slug, key); err != nil {
			return false, fmt.Errorf("store: delist %s/%s: %w", slug, key, err)
		}
	}
	return len(gone) > 0, nil
}

// shownChannel is the channel metadata the output feed shows.
func shownChannel(f Feed) [9]string {
	return [9]string{f.Title, f.Link, f.Description, f.Language, f.Copyright, f.Author, f.ImageURL, f.PodcastGUID, f.Extra}
}

// saveEpisode inserts or refreshes one episode row and reports whether that
// changed anything but the time it was last seen.
func saveEpisode(ctx context.Context, tx *sql.Tx, slug string, e Episode, at time.Time) (bool, error) {
	// An item without an enclosure has nothing to download: it is
	// published as it is, so the output feed keeps it.
	state := StatePending
	if e.EnclosureURL == "" {
		state = StatePublished
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
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(feed_slug, key) DO UPDATE SET position=excluded.position,
		enclosure_attrs=excluded.enclosure_attrs,
		item_key=excluded.item_key, enclosure_index=excluded.enclosure_index,
		guid=excluded.guid, guid_is_permalink=excluded.guid_is_permalink, title=excluded.title,
		link=excluded.link, description=excluded.description, content=excluded.content,
		author=excluded.author, published=excluded.published, extra=excluded.extra,
		seen_at=excluded.seen_at, unlisted_at=0,
		-- a published episode keeps the enclosure its torrent was made from
		enclosure_url=CASE WHEN state='published' THEN enclosure_url ELSE excluded.enclosure_url END,
		enclosure_type=CASE WHEN state='published' THEN enclosure_type ELSE excluded.enclosure_type END,
		enclosure_length=CASE WHEN state='published' THEN enclosure_length ELSE excluded.enclosure_length END
		WHERE position IS NOT excluded.position OR enclosure_attrs IS NOT excluded.enclosure_attrs
		OR item_key IS NOT excluded.item_key OR enclosure_index IS NOT excluded.enclosure_index
		OR guid IS NOT excluded.guid OR guid_is_permalink IS NOT excluded.guid_is_permalink
		OR title IS NOT excluded.title OR link IS NOT excluded.link
		OR description IS NOT excluded.description OR content IS NOT excluded.content
		OR author IS NOT excluded.author OR published IS NOT excluded.published
		OR extra IS NOT excluded.extra OR unlisted_at != 0
		OR (state<>'published' AND (enclosure_url IS NOT excluded.enclosure_url
			OR enclosure_type IS NOT excluded.enclosure_type
			OR enclosure_length IS NOT excluded.enclosure_length))`,
		slug, e.Key, e.Position, e.GUID, e.GUIDIsPermaLink, e.Title, e.Link, e.Description,
		e.Content, e.Author, unix(e.Published), e.Extra, e.EnclosureURL, e.EnclosureType,
		e.EnclosureLength, state, unix(at), itemKey, e.EnclosureIndex, e.EnclosureAttrs)
	if err != nil {
		return false, fmt.Errorf("store: save episode %s/%s: %w", slug, e.Key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return true, nil // an unknown count is taken as a change: a re-render costs little
	}
	if _, err := tx.ExecContext(ctx, `UPDATE episodes SET seen_at=? WHERE feed_slug=? AND key=?`,
		unix(at), slug, e.Key); err != nil {
		return false, fmt.Errorf("store: save episode %s/%s: %w", slug, e.Key, err)
	}
	return false, nil
}

// RecordPoll notes a poll that did not change the channel: a 304 (errMsg
// empty) or a failure (errMsg says why, in plain words).
func (s *SQLite) RecordPoll(ctx context.Context, slug string, at time.Time, errMsg string) error {
	var err error
	if errMsg == "" {
		_, err = s.w.ExecContext(ctx, `UPDATE feeds SET last_poll_at=?, last_ok_at=?, last_error=''
			WHERE slug=?`, unix(at), unix(at), slug)
	} else {
		_, err = s.w.ExecContext(ctx, `UPDATE feeds SET last_poll_at=?, last_error=? WHERE slug=?`,
			unix(at), errMsg, slug)
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
	torrent_sha256`

func scanEpisode(row scanner) (Episode, error) {
	var e Episode
	var pub, pubAt, seen, evicted, unlisted int64
	err := row.Scan(&e.FeedSlug, &e.Key, &e.Position, &e.GUID, &e.GUIDIsPermaLink, &e.Title, &e.Link,
		&e.Description, &e.Content, &e.Author, &pub, &e.Extra, &e.EnclosureURL, &e.EnclosureType,
		&e.EnclosureLength, &e.State, &e.Error, &e.InfoHash, &e.TorrentPath, &e.TorrentSize,
		&e.MediaPath, &e.MediaSize, &e.SHA256, &pubAt, &seen, &e.ItemKey, &e.EnclosureIndex, &evicted,
		&e.MediaETag, &e.MediaLastModified, &e.EnclosureAttrs, &unlisted, &e.TorrentSHA256)
	e.Published, e.PublishedAt, e.SeenAt = fromUnix(pub), fromUnix(pubAt), fromUnix(seen)
	e.EvictedAt, e.UnlistedAt = fromUnix(evicted), fromUnix(unlisted)
	return e, err
}

func (s *SQLite) episodes(ctx context.Context, where string, args ...any) ([]Episode, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+episodeCols+" FROM episodes WHERE "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: episodes: %w", err)
	}
	defer rows.Close()
	var out []Episode
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
func (s *SQLite) Episode(ctx context.Context, slug, key string) (Episode, error) {
	e, err := scanEpisode(s.r.QueryRowContext(ctx,
		"SELECT "+episodeCols+" FROM episodes WHERE feed_slug=? AND key=?", slug, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Episode{}, fmt.Errorf("store: episode %s/%s: %w", slug, key, ErrNotFound)
	}
	if err != nil {
		return Episode{}, fmt.Errorf("store: episode %s/%s: %w", slug, key, err)
	}
	return e, nil
}

// EpisodeByInfoHash returns the published episode whose torrent has that hash.
func (s *SQLite) EpisodeByInfoHash(ctx context.Context, infoHash string) (Episode, error) {
	e, err := scanEpisode(s.r.QueryRowContext(ctx,
		"SELECT "+episodeCols+" FROM episodes WHERE info_hash=? AND state='published'", infoHash))
	if errors.Is(err, sql.ErrNoRows) {
		return Episode{}, fmt.Errorf("store: info hash %s: %w", infoHash, ErrNotFound)
	}
	if err != nil {
		return Episode{}, fmt.Errorf("store: info hash %s: %w", infoHash, err)
	}
	return e, nil
}

// Unpublished lists the feed's episodes with an enclosure that still need a
// download (pending or failed) and that the source still lists, in source order.
func (s *SQLite) Unpublished(ctx context.Context, slug string) ([]Episode, error) {
	return s.episodes(ctx, `feed_slug=? AND state IN ('pending', 'failed') AND enclosure_url != ''
		AND unlisted_at = 0 ORDER BY position, enclosure_index`, slug)
}

// Published lists the feed's published episodes in source order, including
// those the source no longer lists (reports still count them).
func (s *SQLite) Published(ctx context.Context, slug string) ([]Episode, error) {
	return s.episodes(ctx, "feed_slug=? AND state='published' ORDER BY position, enclosure_index", slug)
}

// Listed lists what the output feed shows: the published episodes the
// source still lists, in source order.
func (s *SQLite) Listed(ctx context.Context, slug string) ([]Episode, error) {
	return s.episodes(ctx, `feed_slug=? AND state='published' AND unlisted_at = 0
		ORDER BY position, enclosure_index`, slug)
}

// Publish marks an episode published with its torrent. It is the single
// moment an episode becomes visible in the output feed.
func (s *SQLite) Publish(ctx context.Context, slug, key string, p Publication) error {
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, keepReplacedTorrent, unix(p.At), slug, key, p.InfoHash); err != nil {
			return fmt.Errorf("store: publish %s/%s: keep the torrent it replaces: %w", slug, key, err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE episodes SET state='published', error='', info_hash=?,
			torrent_path=?, torrent_size=?, media_path=?, media_size=?, sha256=?, published_at=?,
			media_etag=?, media_last_modified=?, evicted_at=0, unsynced_boot=?, torrent_sha256=?
			WHERE feed_slug=? AND key=?`, p.InfoHash, p.TorrentPath, p.TorrentSize, p.MediaPath,
			p.MediaSize, p.SHA256, unix(p.At), p.ETag, p.LastModified, p.UnsyncedBoot, p.TorrentSHA256, slug, key)
		if err != nil {
			return fmt.Errorf("store: publish %s/%s: %w", slug, key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: publish %s/%s: %w", slug, key, ErrNotFound)
		}
		return nil
	})
}

// keepReplacedTorrent copies aside, as a superseded and evicted version, the
// torrent a requeued episode had before it is published with another one (its
// media was damaged and the origin now serves other bytes), so the old
// torrent's completions stay in the episode's report, as Supersede keeps them.
var keepReplacedTorrent = `INSERT OR IGNORE INTO episodes (` + episodeCols + `) SELECT ` +
	strings.NewReplacer(" key,", " key || '@' || info_hash,", " state,", " 'superseded',",
		" evicted_at,", " ?1,").Replace(" "+episodeCols) + `
	FROM episodes WHERE feed_slug=?2 AND key=?3 AND info_hash != '' AND info_hash != ?4`

// changeFeed runs fn and bumps the feed's version in one transaction.
func (s *SQLite) changeFeed(ctx context.Context, slug string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %s: %w", slug, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE feeds SET version=version+1 WHERE slug=?`, slug); err != nil {
		return fmt.Errorf("store: %s: %w", slug, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %s: %w", slug, err)
	}
	s.writes.Add(1)
	return nil
}

// MarkSynced records that a published episode's media is on stable storage.
// It does not change what the feed shows.
func (s *SQLite) MarkSynced(ctx context.Context, slug, key string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE episodes SET unsynced_boot='' WHERE feed_slug=? AND key=?`, slug, key); err != nil {
		return fmt.Errorf("store: mark synced %s/%s: %w", slug, key, err)
	}
	return nil
}

// FeedVersion is a number that changes whenever what the feed's output
// shows changes; ErrNotFound for an unknown slug. A change committed through
// this *SQLite shows at once; one committed by another process within
// versionTTL, because answers are reused for that long rather than asking
// SQLite on every feed request.
func (s *SQLite) FeedVersion(ctx context.Context, slug string) (int64, error) {
	// Read the generation before the query: a write committing meanwhile
	// bumps it, so this answer is never reused past that write.
	gen := s.writes.Load()
	s.versionMu.Lock()
	c, ok := s.versions[slug]
	s.versionMu.Unlock()
	if ok && c.gen == gen && time.Since(c.at) < versionTTL {
		return c.v, nil
	}
	at := time.Now()
	var v int64
	err := s.r.QueryRowContext(ctx, "SELECT version FROM feeds WHERE slug=?", slug).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: feed %q: %w", slug, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: feed %q: %w", slug, err)
	}
	s.versionMu.Lock()
	if len(s.versions) > 10000 {
		clear(s.versions) // slugs come from config; this only bounds a flood of unknown-then-known names
	}
	s.versions[slug] = cachedVersion{v: v, gen: gen, at: at}
	s.versionMu.Unlock()
	return v, nil
}

// Supersede retires a published episode whose enclosure changed: its row
// moves aside under a new key (its torrent keeps seeding) so the identity can
// be downloaded again and published with a new torrent.
func (s *SQLite) Supersede(ctx context.Context, slug, key string) error {
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE episodes SET state='superseded', key = key || '@' || info_hash
			WHERE feed_slug=? AND key=? AND state='published' AND info_hash != ''`, slug, key)
		if err != nil {
			return fmt.Errorf("store: supersede %s/%s: %w", slug, key, err)
		}
		return nil
	})
}

// Replace gives a published episode a new torrent, made from the enclosure
// given, in one transaction, as Supersede then Publish would, but without the episode ever leaving the
// feed in between: the old row moves aside (superseded, still seeding) and a
// copy of it under the same key carries the new publication. The copy goes
// through a temporary table so that every column, whatever later migrations
// add, is carried over.
func (s *SQLite) Replace(ctx context.Context, slug, key, enclosureURL, enclosureType string, enclosureLength int64, p Publication) error {
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error {
		fail := func(err error) error { return fmt.Errorf("store: replace %s/%s: %w", slug, key, err) }
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM episodes WHERE feed_slug=? AND key=?
			AND state='published' AND info_hash != ''`, slug, key).Scan(&n); err != nil {
			return fail(err)
		}
		if n == 0 {
			return fail(ErrNotFound)
		}
		steps := []struct {
			q    string
			args []any
		}{
			{`DROP TABLE IF EXISTS temp.replaced`, nil},
			{`CREATE TEMP TABLE replaced AS SELECT * FROM episodes WHERE feed_slug=? AND key=?`, []any{slug, key}},
			{`UPDATE episodes SET state='superseded', key = key || '@' || info_hash WHERE feed_slug=? AND key=?`, []any{slug, key}},
			{`INSERT INTO episodes SELECT * FROM temp.replaced`, nil},
			{`DROP TABLE temp.replaced`, nil},
			{`UPDATE episodes SET state='published', error='', info_hash=?, torrent_path=?, torrent_size=?,
				media_path=?, media_size=?, sha256=?, published_at=?, media_etag=?, media_last_modified=?,
				evicted_at=0, unsynced_boot=?, enclosure_url=?, enclosure_type=?, enclosure_length=?,
				torrent_sha256=? WHERE feed_slug=? AND key=?`,
				[]any{p.InfoHash, p.TorrentPath, p.TorrentSize, p.MediaPath, p.MediaSize, p.SHA256, unix(p.At),
					p.ETag, p.LastModified, p.UnsyncedBoot, enclosureURL, enclosureType, enclosureLength,
					p.TorrentSHA256, slug, key}},
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
func (s *SQLite) KeepMedia(ctx context.Context, slug, key, etag, lastModified string, declaredLength int64) error {
	update := func(ex interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}) error {
		_, err := ex.ExecContext(ctx, `UPDATE episodes SET media_etag=?, media_last_modified=?,
			enclosure_length=? WHERE feed_slug=? AND key=? AND state='published'`,
			etag, lastModified, declaredLength, slug, key)
		if err != nil {
			return fmt.Errorf("store: keep media %s/%s: %w", slug, key, err)
		}
		return nil
	}
	var old int64
	err := s.r.QueryRowContext(ctx, `SELECT enclosure_length FROM episodes WHERE feed_slug=? AND key=?
		AND state='published'`, slug, key).Scan(&old)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: keep media %s/%s: %w", slug, key, ErrNotFound)
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
func (s *SQLite) Seeded(ctx context.Context, slug string) ([]Episode, error) {
	return s.episodes(ctx, `feed_slug=? AND state IN ('published', 'superseded') AND info_hash != ''
		AND evicted_at = 0
		ORDER BY state = 'superseded' OR unlisted_at != 0, COALESCE(NULLIF(published, 0), published_at) DESC, position, enclosure_index`, slug)
}

// Evict records that retention removed an episode's media: it stays in the
// feed (served by its web seed and other peers) but is no longer seeded here.
func (s *SQLite) Evict(ctx context.Context, slug, key string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE episodes SET evicted_at=? WHERE feed_slug=? AND key=?`,
		unix(at), slug, key)
	if err != nil {
		return fmt.Errorf("store: evict %s/%s: %w", slug, key, err)
	}
	return nil
}

// SetTorrentFile records the size and SHA-256 of a .torrent written again (see worker's
// rebuild): the feeds give the size as the enclosure length, so the feed's version moves.
func (s *SQLite) SetTorrentFile(ctx context.Context, slug, key string, size int64, sha256 string) error {
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE episodes SET torrent_size=?, torrent_sha256=?
			WHERE feed_slug=? AND key=?`, size, sha256, slug, key); err != nil {
			return fmt.Errorf("store: set torrent file %s/%s: %w", slug, key, err)
		}
		return nil
	})
}

// Requeue sends a published episode back to pending (out of the feed) so it
// is downloaded again: its media was found damaged or missing.
func (s *SQLite) Requeue(ctx context.Context, slug, key, why string) error {
	return s.changeFeed(ctx, slug, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE episodes SET state='pending', error=?
			WHERE feed_slug=? AND key=? AND state='published'`, why, slug, key)
		if err != nil {
			return fmt.Errorf("store: requeue %s/%s: %w", slug, key, err)
		}
		return nil
	})
}

// Fail records why an episode's download failed; it stays eligible for retry.
func (s *SQLite) Fail(ctx context.Context, slug, key, msg string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE episodes SET state='failed', error=?
		WHERE feed_slug=? AND key=? AND state IN ('pending', 'failed')`, msg, slug, key)
	if err != nil {
		return fmt.Errorf("store: fail %s/%s: %w", slug, key, err)
	}
	return nil
}

// Torrents lists every published torrent, for the seeder and the tracker.
func (s *SQLite) Torrents(ctx context.Context) ([]Torrent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT feed_slug, key, info_hash, torrent_path, torrent_size,
		torrent_sha256, media_path, media_size, enclosure_url, title, published_at, evicted_at != 0, unsynced_boot
		FROM episodes WHERE state IN ('published', 'superseded') AND info_hash != ''
		ORDER BY feed_slug, position`)
	if err != nil {
		return nil, fmt.Errorf("store: torrents: %w", err)
	}
	defer rows.Close()
	var out []Torrent
	for rows.Next() {
		var t Torrent
		var published int64
		if err := rows.Scan(&t.FeedSlug, &t.Key, &t.InfoHash, &t.TorrentPath, &t.TorrentSize, &t.TorrentSHA256, &t.MediaPath,
			&t.MediaSize, &t.EnclosureURL, &t.Title, &published, &t.Evicted, &t.UnsyncedBoot); err != nil {
			return nil, fmt.Errorf("store: torrents: %w", err)
		}
		t.PublishedAt = fromUnix(published)
		out = append(out, t)
	}
	return out, rows.Err()
}

// MediaInUse reports whether a torrent still seeds the file at relPath
// (published or superseded, not evicted).
func (s *SQLite) MediaInUse(ctx context.Context, relPath string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM episodes WHERE media_path=?
		AND state IN ('published', 'superseded') AND info_hash != '' AND evicted_at = 0`, relPath).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: media in use %s: %w", relPath, err)
	}
	return n > 0, nil
}

// StateCounts counts a feed's episodes with an enclosure by state.
func (s *SQLite) StateCounts(ctx context.Context, slug string) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM episodes
		WHERE feed_slug=? AND enclosure_url != '' GROUP BY state`, slug)
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
func (s *SQLite) Failed(ctx context.Context, slug string) ([]Episode, error) {
	return s.episodes(ctx, "feed_slug=? AND state='failed' ORDER BY position", slug)
}
