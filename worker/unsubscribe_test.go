package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// A paused feed is not fetched; resumed, it is.
func TestPausedFeedIsNotPolled(t *testing.T) {
	ctx := context.Background()
	o := newTestOrigin(t)
	w, st, _ := newTestWorker(t)
	o.setFeed(fmt.Sprintf(`<item><guid>g1</guid><title>One</title><enclosure url="%s/ep.mp3" length="1" type="audio/mpeg"/></item>`, o.srv.URL), "")
	f := Feed{Slug: "s", URL: o.srv.URL + "/feed.xml"}
	if err := st.EnsureFeed(ctx, "s", f.URL); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPaused(ctx, "s", true); err != nil {
		t.Fatal(err)
	}
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if n := o.feedGets.Load(); n != 0 {
		t.Fatalf("a paused feed was fetched %d times", n)
	}
	if err := st.SetPaused(ctx, "s", false); err != nil {
		t.Fatal(err)
	}
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if pub, _ := st.Published(ctx, "s"); o.feedGets.Load() != 1 || len(pub) != 1 {
		t.Fatalf("resumed feed: %d fetches, %d published", o.feedGets.Load(), len(pub))
	}
}

// Unsubscribing a run-time feed stops its seeding, removes its rows and (asked to) its files,
// and a poll still scheduled for it afterwards does not bring it back.
func TestUnsubscribeRuntimeFeed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openTestStore(t, dir)
	w, seeder := startSeedingWorker(t, dir, st, "boot")
	defer seeder.Close()
	o, f := pollRuntimeFeed(t, w, st)
	pub, err := st.Published(ctx, "added")
	if err != nil || len(pub) != 1 || len(seeder.Stats().Torrents) != 1 {
		t.Fatalf("published %v (%v), seeding %d", pub, err, len(seeder.Stats().Torrents))
	}
	media, torrent := filepath.Join(dir, pub[0].MediaPath), filepath.Join(dir, pub[0].TorrentPath)

	// A config feed is pinned.
	if err := st.EnsureFeed(ctx, "pinned", "http://example.com/pinned.xml"); err != nil {
		t.Fatal(err)
	}
	if err := w.Unsubscribe(ctx, st, "pinned", true); !errors.Is(err, store.ErrPinned) {
		t.Fatalf("unsubscribing a config feed: %v, want ErrPinned", err)
	}

	if err := w.Unsubscribe(ctx, st, "added", true); err != nil {
		t.Fatal(err)
	}
	if n := len(seeder.Stats().Torrents); n != 0 {
		t.Fatalf("still seeding %d torrents", n)
	}
	for _, p := range []string{media, torrent} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s still there: %v", p, err)
		}
	}
	gets := o.feedGets.Load()
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Feed(ctx, "added"); !errors.Is(err, store.ErrNotFound) || o.feedGets.Load() != gets {
		t.Fatalf("a poll after removal: feed %v, fetches %d -> %d", err, gets, o.feedGets.Load())
	}
}

// Keeping media on unsubscribe leaves the files where they are.
func TestUnsubscribeKeepsMedia(t *testing.T) {
	ctx := context.Background()
	w, st, dir := newTestWorker(t)
	pollRuntimeFeed(t, w, st)
	pub, _ := st.Published(ctx, "added")
	if len(pub) != 1 {
		t.Fatalf("published %d", len(pub))
	}
	if err := w.Unsubscribe(ctx, st, "added", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, pub[0].MediaPath)); err != nil {
		t.Fatalf("kept media: %v", err)
	}
}

// A feed removed elsewhere (another node, the CLI) stops seeding here at the second Reconcile
// that does not find its torrents in the store.
func TestReconcileDropsTorrentsOfRemovedFeeds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openTestStore(t, dir)
	w, seeder := startSeedingWorker(t, dir, st, "boot")
	defer seeder.Close()
	pollRuntimeFeed(t, w, st)
	if err := w.Reconcile(ctx); err != nil || len(seeder.Stats().Torrents) != 1 {
		t.Fatalf("a stored torrent was dropped: %v, seeding %d", err, len(seeder.Stats().Torrents))
	}
	if err := st.RemoveFeed(ctx, "added"); err != nil {
		t.Fatal(err)
	}
	if err := w.Reconcile(ctx); err != nil || len(seeder.Stats().Torrents) != 1 {
		t.Fatalf("first reconcile after removal: %v, seeding %d (want still 1)", err, len(seeder.Stats().Torrents))
	}
	if err := w.Reconcile(ctx); err != nil || len(seeder.Stats().Torrents) != 0 {
		t.Fatalf("second reconcile after removal: %v, seeding %d (want 0)", err, len(seeder.Stats().Torrents))
	}
}

// pollRuntimeFeed adds a run-time feed of one episode, from an origin of its own, and polls it.
func pollRuntimeFeed(t *testing.T, w *Worker, st store.Store) (*testOrigin, Feed) {
	t.Helper()
	o := newTestOrigin(t)
	o.setFeed(fmt.Sprintf(`<item><guid>g1</guid><title>One</title><enclosure url="%s/ep.mp3" length="1" type="audio/mpeg"/></item>`, o.srv.URL), "")
	f := Feed{Slug: "added", URL: o.srv.URL + "/feed.xml", Runtime: true}
	if err := st.AddFeed(context.Background(), f.Slug, f.URL, false, time.Unix(0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Poll(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	return o, f
}
