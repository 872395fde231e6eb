package sqldb

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/seedcast/seedcast/store"
)

// Search is a driver's full-text search: the two engines share no syntax, so each driver gives
// its query and how the words become its match argument.
type Search struct {
	// SQL takes the match argument as $1 and the limit as $2 and returns feed_slug, key ('' for
	// a podcast), title, info_hash and published, best match first.
	SQL string
	// Match turns the words (letters and digits only, at least one) into $1.
	Match func(words []string) string
}

// searchWords are the words of a query as Directory.Search counts them, lowercased.
func searchWords(query string) []string {
	if len(query) > store.MaxSearchQuery {
		query = query[:store.MaxSearchQuery]
	}
	words := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) > store.MaxSearchWords {
		words = words[:store.MaxSearchWords]
	}
	return words
}

// Search finds podcasts and episodes by the words of query (see store.Directory).
func (s *DB) Search(ctx context.Context, query string, limit int) ([]store.SearchHit, error) {
	words := searchWords(query)
	if len(words) == 0 || limit <= 0 {
		return nil, nil
	}
	if s.opts.Search.SQL == "" {
		return nil, fmt.Errorf("store: search: this driver has no full-text search")
	}
	limit = min(limit, store.MaxSearchHits)
	rows, err := s.r.QueryContext(ctx, s.opts.Search.SQL, s.opts.Search.Match(words), limit)
	if err != nil {
		return nil, fmt.Errorf("store: search %q: %w", strings.Join(words, " "), err)
	}
	defer rows.Close()
	var out []store.SearchHit
	for rows.Next() {
		var h store.SearchHit
		var pub int64
		if err := rows.Scan(&h.FeedSlug, &h.EpisodeKey, &h.Title, &h.InfoHash, &pub); err != nil {
			return nil, fmt.Errorf("store: search: %w", err)
		}
		h.Published = fromUnix(pub)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	return out, nil
}
