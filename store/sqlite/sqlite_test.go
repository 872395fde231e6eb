package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "seedcast.db")
		open := func() store.Store {
			s, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		return open(), open
	})
}

// An older database's completions (one per peer, no day) are kept as
// counted downloads of their day.
func TestCompletionsMigrationKeepsRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seedcast.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Index(migrations, countedDownloads) // the migrations before it
	for i, m := range migrations[:before] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	ih := "0123456789abcdef0123456789abcdef01234567"
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i, peer := range []string{"p1", "p2", "p3"} {
		if _, err := db.ExecContext(ctx, `INSERT INTO completions(info_hash, peer_key, at) VALUES(?,?,?)`,
			ih, peer, at.Add(time.Duration(i)*12*time.Hour).UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", before)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CompletionCount(ctx, ih); err != nil || n != 3 {
		t.Fatalf("counted after migration = %d, %v; want 3", n, err)
	}
	if n, err := s.CompletionEvents(ctx, ih); err != nil || n != 3 {
		t.Fatalf("raw after migration = %d, %v; want 3", n, err)
	}
	// p1 was counted on 1 Nov: again that day is a repeat, the next day is not.
	if added, err := s.RecordCompletion(ctx, ih, "p1", at.Add(time.Hour)); err != nil || added {
		t.Fatalf("p1 again on its day: added=%v, %v; want false", added, err)
	}
	if added, err := s.RecordCompletion(ctx, ih, "p1", at.Add(48*time.Hour)); err != nil || !added {
		t.Fatalf("p1 two days later: added=%v, %v; want true", added, err)
	}
}

// A database from before the search index gets its podcasts and episodes indexed by the
// migration that adds it.
func TestSearchMigrationIndexesRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seedcast.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Index(migrations, searchIndex)
	for i, m := range migrations[:before] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	ih := "0123456789abcdef0123456789abcdef01234567"
	if _, err := db.ExecContext(ctx, `INSERT INTO feeds(slug, url, title) VALUES('old', 'http://example.com/f', 'Vintage Radio')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO episodes(feed_slug, key, title, description, state, info_hash)
		VALUES('old', 'guid:1', 'One', 'about gramophones', 'published', ?)`, ih); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", before)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for q, want := range map[string]store.SearchHit{
		"gramophones": {FeedSlug: "old", EpisodeKey: "guid:1", Title: "One", InfoHash: ih},
		"vintage":     {FeedSlug: "old", Title: "Vintage Radio"},
	} {
		hits, err := s.Search(ctx, q, 10)
		if err != nil || len(hits) != 1 || hits[0] != want {
			t.Errorf("Search(%q) after migration = %+v, %v; want %+v", q, hits, err, want)
		}
	}
}
