package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/store/storetest"
)

func TestCheckFindsDamagedPages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seedcast.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureFeed(ctx, "demo", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("check of a sound store: %v", err)
	}
	if n, err := s.FeedCount(ctx); err != nil || n != 1 {
		t.Fatalf("feed count = %d, %v; want 1", n, err)
	}
	s.Close()

	storetest.CorruptTable(t, path, "episodes")
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("a store with one damaged table should still open: %v", err)
	}
	defer s.Close()
	if _, err := s.Torrents(ctx); err == nil {
		t.Fatal("reading the damaged table succeeded: the corruption did not take")
	}
	err = s.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "store: check") {
		t.Fatalf("check of a damaged store = %v, want an error", err)
	}
}
