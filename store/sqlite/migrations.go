package sqlite

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
	// An explicit id instead of the rowid, as PostgreSQL has no rowid and the queries are shared
	// (an INTEGER PRIMARY KEY is the rowid, so the ids stay what they were).
	`CREATE TABLE snapshots_by_id (
		id INTEGER PRIMARY KEY,
		tracker TEXT NOT NULL,
		info_hash TEXT NOT NULL,
		at INTEGER NOT NULL,
		complete INTEGER NOT NULL,
		incomplete INTEGER NOT NULL,
		downloaded INTEGER NOT NULL
	);
	INSERT INTO snapshots_by_id(id, tracker, info_hash, at, complete, incomplete, downloaded)
		SELECT rowid, tracker, info_hash, at, complete, incomplete, downloaded FROM snapshots;
	DROP TABLE snapshots;
	ALTER TABLE snapshots_by_id RENAME TO snapshots;
	CREATE INDEX snapshots_hash ON snapshots(info_hash, tracker, at);`,
	// torrent_files holds every published .torrent, so any node can serve a torrent another
	// made, and a damaged file is restored without hashing its media.
	`CREATE TABLE torrent_files (
		info_hash TEXT PRIMARY KEY,
		data BLOB NOT NULL
	);`,
	// Nodes and feed poll leases: several gateway processes on one store.
	`CREATE TABLE nodes (
		name TEXT PRIMARY KEY,
		started_at INTEGER NOT NULL,
		last_seen INTEGER NOT NULL,
		seeding INTEGER NOT NULL,
		disk_bytes INTEGER NOT NULL
	);
	ALTER TABLE feeds ADD COLUMN lease_node TEXT NOT NULL DEFAULT '';
	ALTER TABLE feeds ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;`,
	// made_by is the node that downloaded the media and made the torrent: one of its seeders.
	`ALTER TABLE episodes ADD COLUMN made_by TEXT NOT NULL DEFAULT '';`,
	// The directory's full-text search (see search.go).
	searchIndex,
	// info_hash_v2 is a hybrid torrent's v2 info hash (64 hex), for btmh magnets and the tracker's
	// alias of it; '' for a v1 torrent.
	`ALTER TABLE episodes ADD COLUMN info_hash_v2 TEXT NOT NULL DEFAULT '';`,
	// Feeds added at run time (origin), paused feeds, the class of the last poll error, the
	// dashboard's sessions and podcasters' submissions.
	`ALTER TABLE feeds ADD COLUMN error_kind TEXT NOT NULL DEFAULT '';
	ALTER TABLE feeds ADD COLUMN origin TEXT NOT NULL DEFAULT 'config';
	ALTER TABLE feeds ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE feeds ADD COLUMN added_at INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE feeds ADD COLUMN owner_consent INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE admin_sessions (
		id_hash TEXT PRIMARY KEY,
		csrf TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	);
	CREATE TABLE submissions (
		id TEXT PRIMARY KEY,
		url TEXT NOT NULL,
		token TEXT NOT NULL,
		owner_token_hash TEXT NOT NULL,
		status TEXT NOT NULL,
		slug TEXT NOT NULL DEFAULT '',
		note TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE INDEX submissions_created ON submissions(created_at);`,
	// WebSub and Podping (package push): each feed's subscription to its source's hub, which any
	// node may be called back about, and the output version last announced, so one node
	// announces each change.
	`CREATE TABLE push_subscriptions (
		feed_slug TEXT PRIMARY KEY REFERENCES feeds(slug),
		hub TEXT NOT NULL,
		topic TEXT NOT NULL,
		secret TEXT NOT NULL,
		requested_at INTEGER NOT NULL DEFAULT 0,
		verified_at INTEGER NOT NULL DEFAULT 0,
		lease_until INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE push_announced (
		feed_slug TEXT PRIMARY KEY REFERENCES feeds(slug),
		version INTEGER NOT NULL
	);`,
	// Sponsor audience figures (issue 16): per-listener rows (starts and counted downloads, one
	// per torrent, kind, listener and UTC day, kept store.AudienceRetention), their aggregates
	// by client and country (kept), and the salts of the listener keys (one per 30-day period).
	`CREATE TABLE audience_salts (
		period TEXT PRIMARY KEY,
		salt BLOB NOT NULL
	);
	CREATE TABLE audience_listens (
		info_hash TEXT NOT NULL,
		day TEXT NOT NULL,
		kind TEXT NOT NULL,
		listener TEXT NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY (info_hash, day, kind, listener)
	);
	CREATE INDEX audience_listens_at ON audience_listens(at);
	CREATE TABLE audience_counts (
		info_hash TEXT NOT NULL,
		day TEXT NOT NULL,
		kind TEXT NOT NULL,
		client TEXT NOT NULL,
		country TEXT NOT NULL,
		n INTEGER NOT NULL,
		PRIMARY KEY (info_hash, day, kind, client, country)
	);`,
	// The bytes each node's seeder uploaded per torrent (store.SeederUploads), added every
	// minute and at shutdown, for the reports' bandwidth figures.
	`CREATE TABLE seeder_uploads (
		node TEXT NOT NULL,
		info_hash TEXT NOT NULL,
		bytes INTEGER NOT NULL,
		PRIMARY KEY (node, info_hash)
	);
	CREATE INDEX seeder_uploads_info_hash ON seeder_uploads(info_hash);`,
	// The same bytes per UTC day and node, for the dashboard's chart of bytes uploaded.
	`CREATE TABLE seeder_uploads_daily (
		day TEXT NOT NULL,
		node TEXT NOT NULL,
		bytes INTEGER NOT NULL,
		PRIMARY KEY (day, node)
	);`,
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
