package worker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/store/sqlite"
)

func TestStoreLostBesidePublishedFilesIsRefused(t *testing.T) {
	ctx := context.Background()
	write := func(path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("new installation", func(t *testing.T) {
		dir := t.TempDir()
		// A partial download is not a published episode.
		write(filepath.Join(dir, "media", "show", "a.mp3.part"))
		write(filepath.Join(dir, "media", "show", "a.mp3.part.json"))
		if err := CheckStoreFile(dir, filepath.Join(dir, "seedcast.db")); err != nil {
			t.Fatalf("missing store in a new data dir: %v", err)
		}
	})

	for _, tc := range []struct{ name, want string }{{"missing", "is missing"}, {"empty", "is empty"}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "seedcast.db")
			write(filepath.Join(dir, "torrents", "ab.torrent"))
			write(filepath.Join(dir, "media", "show", "a.mp3"))
			if tc.name == "empty" {
				if err := os.WriteFile(db, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckStoreFile(dir, db)
			if !errors.Is(err, ErrStoreLost) {
				t.Fatalf("err = %v, want ErrStoreLost", err)
			}
			for _, s := range []string{db, tc.want, "1 torrent files", "1 media files"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if _, err := os.Stat(db); tc.name == "missing" && err == nil {
				t.Error("the refused store was created")
			}
		})
	}

	t.Run("fresh database in its place", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "seedcast.db")
		write(filepath.Join(dir, "media", "show", "a.mp3"))
		st, err := sqlite.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := CheckStoreFile(dir, db); err != nil {
			t.Fatalf("a store file with its schema: %v", err)
		}
		if err := CheckStoreContents(ctx, dir, db, st); !errors.Is(err, ErrStoreLost) || !strings.Contains(err.Error(), "holds no feed") {
			t.Fatalf("err = %v, want ErrStoreLost saying it holds no feed", err)
		}
		// A crash before the first publication leaves media and the feed it came from.
		if err := st.EnsureFeed(ctx, "show", "http://example.com/feed.xml"); err != nil {
			t.Fatal(err)
		}
		if err := CheckStoreContents(ctx, dir, db, st); err != nil {
			t.Fatalf("store with its feed: %v", err)
		}
	})
}
