package worker

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/seedcast/seedcast/store"
)

// change is a published enclosure that may have changed: the feed declares
// another length for it, or its origin answers with other validators.
type change struct {
	e   store.Episode // as the feed lists it now
	old store.Episode // as published
	why string
}

// enclosureChanged says why a published enclosure may have changed, or "".
// With recheck (the newest episodes of a feed that changed), the origin is
// also asked whether the file changed under the same URL and length.
func (w *Worker) enclosureChanged(ctx context.Context, e, old store.Episode, recheck bool) string {
	switch {
	case e.EnclosureLength > 0 && old.EnclosureLength > 0 && e.EnclosureLength != old.EnclosureLength:
		return fmt.Sprintf("the feed now declares %d bytes, was %d", e.EnclosureLength, old.EnclosureLength)
	case recheck:
		return w.originChanged(ctx, e.EnclosureURL, old)
	}
	return ""
}

// revalidate downloads each possibly changed enclosure again. Only changed
// bytes make a new torrent (the old one keeps seeding, superseded); the same
// bytes under new validators (a CDN whose nodes each have their own ETag, a
// corrected length in the feed) keep the published torrent: the new file is
// deleted and only the validators are updated, so the feed does not change.
// Until a new torrent is ready the episode stays in the feed with its old one.
func (w *Worker) revalidate(ctx context.Context, slug string, changes []change) []error {
	var errs []error
	for _, c := range changes {
		if ctx.Err() != nil {
			return append(errs, ctx.Err())
		}
		if err := w.revalidateOne(ctx, slug, c); err != nil {
			errs = append(errs, fmt.Errorf("episode %q (%s), published as %s, may have changed (%s): %w",
				c.e.Title, c.e.EnclosureURL, c.old.InfoHash, c.why, err))
		}
	}
	return errs
}

func (w *Worker) revalidateOne(ctx context.Context, slug string, c change) error {
	w.log.Info("enclosure may have changed: downloading it again", "feed", slug, "key", c.e.Key,
		"info_hash", c.old.InfoHash, "why", c.why)
	got, err := w.fetchEnclosure(ctx, slug, c.e)
	if err != nil {
		return err
	}
	if hex.EncodeToString(got.SHA256) == c.old.SHA256 && got.Size == c.old.MediaSize {
		if err := os.Remove(got.abs); err != nil {
			return fmt.Errorf("removing the second copy %s: %w", got.rel, err)
		}
		w.log.Info("enclosure unchanged: same bytes, torrent kept", "feed", slug, "key", c.e.Key,
			"info_hash", c.old.InfoHash, "why", c.why)
		return w.st.KeepMedia(ctx, slug, c.e.Key, got.ETag, got.LastModified, c.e.EnclosureLength)
	}
	p, err := w.makeTorrent(ctx, c.e, got)
	if err != nil {
		return err
	}
	if err := w.st.Replace(ctx, slug, c.e.Key, c.e.EnclosureURL, c.e.EnclosureType, c.e.EnclosureLength, p); err != nil {
		return err
	}
	w.cfg.Push.Changed(slug)
	w.log.Info("enclosure changed: new torrent", "feed", slug, "key", c.e.Key, "info_hash", p.InfoHash,
		"superseded", c.old.InfoHash, "bytes", got.Size, "why", c.why)
	w.syncPublished(ctx, slug, c.e.Key, got.abs)
	return nil
}
