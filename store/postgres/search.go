package postgres

import (
	"strings"

	"github.com/seedcast/seedcast/store/sqldb"
)

// The directory's full-text search: GIN indexes on expressions, so the tables keep the columns
// the SQLite schema has (store copy moves rows as they are) and nothing has to be kept in step.
// 'simple' does no stemming, as SQLite's unicode61 tokenizer; the text is capped at 100,000
// characters (as in SQLite) so that no show notes overflow a tsvector and fail a poll.
const (
	feedText    = `to_tsvector('simple', left(title || ' ' || author || ' ' || description, 100000))`
	episodeText = `to_tsvector('simple', left(title || ' ' || description || ' ' || content, 100000))`
)

const searchIndex = `CREATE INDEX feeds_search ON feeds USING GIN (` + feedText + `);
	CREATE INDEX episodes_search ON episodes USING GIN (` + episodeText + `);`

// search finds podcasts, and the default torrent of published, listed episodes (best ts_rank
// first; a podcast before its episodes on a tie).
var search = sqldb.Search{
	SQL: `WITH q AS (SELECT plainto_tsquery('simple', $1) AS q)
		SELECT slug, key, title, info_hash, published FROM (
			SELECT f.slug, '' AS key, f.title, '' AS info_hash, 0::BIGINT AS published,
				ts_rank(` + feedText + `, q.q) AS r, 0 AS kind
			FROM feeds f, q WHERE ` + feedText + ` @@ q.q
			UNION ALL
			SELECT e.feed_slug, e.key, e.title, e.info_hash, e.published,
				ts_rank(` + episodeText + `, q.q) AS r, 1 AS kind
			FROM episodes e, q WHERE ` + episodeText + ` @@ q.q
				AND e.state = 'published' AND e.unlisted_at = 0 AND e.enclosure_index = 0
		) hits ORDER BY r DESC, kind, slug, key LIMIT $2`,
	// plainto_tsquery ANDs the words and reads no operators.
	Match: func(words []string) string { return strings.Join(words, " ") },
}
