package worker

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/seedcast/seedcast/seedbox"
)

// partialGrace spares partial downloads written to recently: another
// process on the same data directory (`seedcast poll`) may be downloading.
const partialGrace = time.Hour

// SweepPartials deletes interrupted downloads that no download will resume:
// those of episodes the source stopped listing, whose enclosure URL changed
// their file name, or of feeds no longer in the configuration. A partial
// download of a pending episode of one of feeds is kept for its next poll.
// It reports the files removed and their bytes.
func (w *Worker) SweepPartials(ctx context.Context, feeds []Feed) (int, int64, error) {
	keep := map[string]bool{}
	for _, f := range feeds {
		eps, err := w.st.Unpublished(ctx, f.Slug)
		if err != nil {
			return 0, 0, err
		}
		for _, e := range eps {
			name, err := w.freeMediaName(ctx, f.Slug, e)
			if err != nil {
				return 0, 0, err
			}
			keep[filepath.Join(w.cfg.DataDir, "media", f.Slug, name)] = true
		}
	}
	cutoff := w.now().Add(-partialGrace)
	files, bytes := 0, int64(0)
	var errs []error
	root := filepath.Join(w.cfg.DataDir, "media")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == root {
				return nil // nothing downloaded yet
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return nil
		}
		dest, ok := seedbox.PartialDest(path)
		if !ok || keep[dest] {
			return nil
		}
		fi, err := d.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			return nil
		}
		if err := os.Remove(path); err != nil {
			errs = append(errs, err)
			return nil
		}
		files++
		bytes += fi.Size()
		w.log.Info("removed a partial download nothing will resume", "path", path, "bytes", fi.Size())
		return nil
	})
	return files, bytes, errors.Join(append(errs, err)...)
}
