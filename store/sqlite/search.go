package sqlite

import (
	"strings"

	"github.com/seedcast/seedcast/store/sqldb"
)

// searchIndex is the migration that adds the directory's full-text index: an FTS5 table of
// every podcast's and episode's text, kept in step with feeds and episodes by triggers, so no
// write path has to remember it. search_docs gives each document a stable id (the FTS rowid):
// feeds and episodes have no INTEGER PRIMARY KEY, and VACUUM may renumber their rowids. The
// text indexed is capped at 100,000 characters, as in the PostgreSQL index.
const searchIndex = `CREATE TABLE search_docs (
		id INTEGER PRIMARY KEY,
		kind TEXT NOT NULL,
		feed_slug TEXT NOT NULL,
		key TEXT NOT NULL,
		UNIQUE (kind, feed_slug, key)
	);
	CREATE VIRTUAL TABLE search_text USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2');

	CREATE TRIGGER feeds_search_insert AFTER INSERT ON feeds BEGIN
		INSERT INTO search_docs(kind, feed_slug, key) VALUES ('feed', new.slug, '');
		INSERT INTO search_text(rowid, title, body) VALUES (
			(SELECT id FROM search_docs WHERE kind = 'feed' AND feed_slug = new.slug AND key = ''),
			new.title, substr(new.author || ' ' || new.description, 1, 100000));
	END;
	CREATE TRIGGER feeds_search_update AFTER UPDATE OF title, author, description ON feeds
	WHEN old.title IS NOT new.title OR old.author IS NOT new.author OR old.description IS NOT new.description BEGIN
		UPDATE search_text SET title = new.title, body = substr(new.author || ' ' || new.description, 1, 100000)
		WHERE rowid = (SELECT id FROM search_docs WHERE kind = 'feed' AND feed_slug = new.slug AND key = '');
	END;
	CREATE TRIGGER feeds_search_delete AFTER DELETE ON feeds BEGIN
		DELETE FROM search_text WHERE rowid = (SELECT id FROM search_docs WHERE kind = 'feed' AND feed_slug = old.slug AND key = '');
		DELETE FROM search_docs WHERE kind = 'feed' AND feed_slug = old.slug AND key = '';
	END;

	CREATE TRIGGER episodes_search_insert AFTER INSERT ON episodes BEGIN
		INSERT INTO search_docs(kind, feed_slug, key) VALUES ('episode', new.feed_slug, new.key);
		INSERT INTO search_text(rowid, title, body) VALUES (
			(SELECT id FROM search_docs WHERE kind = 'episode' AND feed_slug = new.feed_slug AND key = new.key),
			new.title, substr(new.description || ' ' || new.content, 1, 100000));
	END;
	CREATE TRIGGER episodes_search_update AFTER UPDATE OF title, description, content ON episodes
	WHEN old.title IS NOT new.title OR old.description IS NOT new.description OR old.content IS NOT new.content BEGIN
		UPDATE search_text SET title = new.title, body = substr(new.description || ' ' || new.content, 1, 100000)
		WHERE rowid = (SELECT id FROM search_docs WHERE kind = 'episode' AND feed_slug = old.feed_slug AND key IN (old.key, new.key));
	END;
	-- Supersede moves a row aside under a new key: its document follows it.
	CREATE TRIGGER episodes_search_rekey AFTER UPDATE OF feed_slug, key ON episodes
	WHEN old.feed_slug IS NOT new.feed_slug OR old.key IS NOT new.key BEGIN
		UPDATE search_docs SET feed_slug = new.feed_slug, key = new.key
		WHERE kind = 'episode' AND feed_slug = old.feed_slug AND key = old.key;
	END;
	CREATE TRIGGER episodes_search_delete AFTER DELETE ON episodes BEGIN
		DELETE FROM search_text WHERE rowid = (SELECT id FROM search_docs WHERE kind = 'episode' AND feed_slug = old.feed_slug AND key = old.key);
		DELETE FROM search_docs WHERE kind = 'episode' AND feed_slug = old.feed_slug AND key = old.key;
	END;

	INSERT INTO search_docs(kind, feed_slug, key) SELECT 'feed', slug, '' FROM feeds;
	INSERT INTO search_docs(kind, feed_slug, key) SELECT 'episode', feed_slug, key FROM episodes;
	INSERT INTO search_text(rowid, title, body)
		SELECT d.id, f.title, substr(f.author || ' ' || f.description, 1, 100000)
		FROM search_docs d JOIN feeds f ON d.kind = 'feed' AND f.slug = d.feed_slug;
	INSERT INTO search_text(rowid, title, body)
		SELECT d.id, e.title, substr(e.description || ' ' || e.content, 1, 100000)
		FROM search_docs d JOIN episodes e ON d.kind = 'episode' AND e.feed_slug = d.feed_slug AND e.key = d.key;`

// search finds podcasts, and the default torrent of published, listed episodes, in the index
// (best bm25 rank first).
var search = sqldb.Search{
	SQL: `SELECT d.feed_slug, d.key, COALESCE(e.title, f.title), COALESCE(e.info_hash, ''), COALESCE(e.published, 0)
		FROM search_text
		JOIN search_docs d ON d.id = search_text.rowid
		JOIN feeds f ON f.slug = d.feed_slug
		LEFT JOIN episodes e ON d.kind = 'episode' AND e.feed_slug = d.feed_slug AND e.key = d.key
		WHERE search_text MATCH $1
			AND (d.kind = 'feed' OR (e.state = 'published' AND e.unlisted_at = 0 AND e.enclosure_index = 0))
		ORDER BY search_text.rank LIMIT $2`,
	// Each word as an FTS5 string: the user's text never reaches the query syntax (words are
	// letters and digits already; quoting is the second wall). Space between them means AND.
	Match: func(words []string) string {
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		}
		return strings.Join(quoted, " ")
	},
}
