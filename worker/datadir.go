package worker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrStoreLost says the store no longer describes the data directory: published torrents and
// media are on disk, but the store is missing, empty or has no feed. Starting on it would download
// every episode again and show sponsors zero, so the gateway refuses.
var ErrStoreLost = errors.New("store lost")

// CheckStoreFile runs before the store at dbPath is opened (and so created): a missing or
// zero-length store beside published files is refused, naming the file.
func CheckStoreFile(dataDir, dbPath string) error {
	fi, err := os.Stat(dbPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return refuseIfPublished(dataDir, dbPath, "is missing")
	case err != nil:
		return fmt.Errorf("store %s: %w", dbPath, err)
	case fi.Size() == 0:
		return refuseIfPublished(dataDir, dbPath, "is empty (0 bytes)")
	}
	return nil
}

// FeedCounter is the part of the store CheckStoreContents reads.
type FeedCounter interface {
	FeedCount(ctx context.Context) (int, error)
}

// CheckStoreContents runs once the store is open: a store with no feed at all beside published
// files (a fresh database put in the old one's place) is refused too. A crash before the first
// publication leaves media but also the feed it came from, so that start is not refused.
func CheckStoreContents(ctx context.Context, dataDir, dbPath string, st FeedCounter) error {
	n, err := st.FeedCount(ctx)
	if err != nil {
		return fmt.Errorf("store %s: %w", dbPath, err)
	}
	if n > 0 {
		return nil
	}
	return refuseIfPublished(dataDir, dbPath, "holds no feed")
}

func refuseIfPublished(dataDir, dbPath, what string) error {
	torrents, media, err := publishedFiles(dataDir)
	if err != nil {
		return fmt.Errorf("store %s %s; looking for published files: %w", dbPath, what, err)
	}
	if torrents == 0 && media == 0 {
		return nil // a new installation
	}
	return fmt.Errorf("%w: %s %s, but %s holds %d torrent files and %s %d media files: "+
		"restore the store from a backup, or move torrents/ and media/ aside to start afresh",
		ErrStoreLost, dbPath, what, filepath.Join(dataDir, "torrents"), torrents,
		filepath.Join(dataDir, "media"), media)
}

// publishedFiles counts the .torrent files in data_dir/torrents and the complete media files
// under data_dir/media.
func publishedFiles(dataDir string) (torrents, media int, err error) {
	ts, err := filepath.Glob(filepath.Join(dataDir, "torrents", "*.torrent"))
	if err != nil {
		return 0, 0, err
	}
	err = filepath.WalkDir(filepath.Join(dataDir, "media"), func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		// Partial downloads (*.part and their *.part.json sidecars) were never published.
		if d.Type().IsRegular() && !strings.Contains(d.Name(), ".part") {
			media++
		}
		return nil
	})
	return len(ts), media, err
}
