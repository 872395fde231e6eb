package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// testRuntimeFeeds: a feed added at run time is listed as such, can be paused and resumed, takes
// no slug or URL another feed has, and is removed with its episodes and .torrents while the
// figures of its torrents stay; a config feed cannot be removed.
func testRuntimeFeeds(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if err := s.EnsureFeed(ctx, "pinned", "http://example.com/pinned.xml"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFeed(ctx, "added", "http://example.com/added.xml", true, t0); err != nil {
		t.Fatal(err)
	}
	f, err := s.Feed(ctx, "added")
	if err != nil || f.Origin != store.OriginRuntime || !f.AddedAt.Equal(t0) || !f.OwnerConsent || f.Paused {
		t.Fatalf("added feed = %+v, %v", f, err)
	}
	for _, c := range []struct{ slug, url string }{
		{"added", "http://example.com/other.xml"},  // the slug is taken
		{"pinned", "http://example.com/other.xml"}, // by a config feed too
		{"fresh", "http://example.com/added.xml"},  // the URL is another feed's
	} {
		if err := s.AddFeed(ctx, c.slug, c.url, false, t0); !errors.Is(err, store.ErrExists) {
			t.Fatalf("AddFeed(%s, %s) = %v, want ErrExists", c.slug, c.url, err)
		}
	}
	if f, _ := s.Feed(ctx, "pinned"); f.Origin != store.OriginConfig || f.URL != "http://example.com/pinned.xml" {
		t.Fatalf("a refused add changed the config feed: %+v", f)
	}

	for _, slug := range []string{"added", "pinned"} {
		if err := s.SetPaused(ctx, slug, true); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.Feed(ctx, slug); !f.Paused {
			t.Fatalf("%s not paused", slug)
		}
	}
	if err := s.SetPaused(ctx, "added", false); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Feed(ctx, "added"); f.Paused {
		t.Fatal("added still paused after resume")
	}
	if err := s.SetPaused(ctx, "missing", true); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pausing an unknown feed: %v, want ErrNotFound", err)
	}
	// A config entry for a run-time slug pins it.
	if err := s.AddFeed(ctx, "adopted", "http://example.com/adopted.xml", false, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureFeed(ctx, "adopted", "http://example.com/adopted.xml"); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Feed(ctx, "adopted"); f.Origin != store.OriginConfig {
		t.Fatalf("adopted feed origin %q, want config", f.Origin)
	}

	// Remove: episodes and .torrents go, completions stay.
	const ih = "00112233445566778899aabbccddeeff00112233"
	if err := s.SaveChannel(ctx, store.Feed{Slug: "added", Title: "Added"},
		[]store.Episode{{Key: "guid:1", GUID: "1", Title: "One", EnclosureURL: "http://example.com/1.mp3"}}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(ctx, "added", "guid:1", store.Publication{InfoHash: ih, TorrentPath: "torrents/1.torrent",
		TorrentSize: 10, MediaPath: "media/added/1.mp3", MediaSize: 5, At: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveTorrentFile(ctx, ih, []byte("d4:infod")); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.RecordCompletion(ctx, ih, "listener-1", t0); err != nil || !ok {
		t.Fatalf("completion: %v, %v", ok, err)
	}
	// Its WebSub subscription and announced version go with it.
	if err := s.SaveSubscription(ctx, store.Subscription{FeedSlug: "added", Hub: "http://hub.example/", Topic: "http://example.com/added.xml", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ClaimAnnouncement(ctx, "added", 3); err != nil || !ok {
		t.Fatalf("claim announcement: %v, %v", ok, err)
	}
	if err := s.RemoveFeed(ctx, "pinned"); !errors.Is(err, store.ErrPinned) {
		t.Fatalf("removing a config feed: %v, want ErrPinned", err)
	}
	if err := s.RemoveFeed(ctx, "added"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Feed(ctx, "added"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed feed still there: %v", err)
	}
	if _, err := s.EpisodeByInfoHash(ctx, ih); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed feed's episode still there: %v", err)
	}
	if _, err := s.TorrentFile(ctx, ih); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed feed's .torrent still there: %v", err)
	}
	if n, err := s.CompletionCount(ctx, ih); err != nil || n != 1 {
		t.Fatalf("completions after remove = %d, %v; want 1 kept", n, err)
	}
	if _, err := s.Subscription(ctx, "added"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed feed's WebSub subscription still there: %v", err)
	}
	if hits, err := s.Search(ctx, "Added", 10); err != nil || len(hits) != 0 {
		t.Fatalf("search finds the removed feed: %+v, %v", hits, err)
	}
	if err := s.RemoveFeed(ctx, "added"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removing twice: %v, want ErrNotFound", err)
	}
	// The slug and URL are free again.
	if err := s.AddFeed(ctx, "added", "http://example.com/added.xml", false, t0); err != nil {
		t.Fatalf("re-adding a removed feed: %v", err)
	}
}

// testRuntimeFeedRace: two nodes adding the same feed at once make one feed, and one of them is
// told it exists.
func testRuntimeFeedRace(t *testing.T, open Opener) {
	ctx := context.Background()
	a, another := open(t)
	b := another()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for round := range 10 {
		slug := fmt.Sprintf("show-%d", round)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []store.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Same URL, different slugs on odd rounds: the URL alone must collide too.
				sl := slug
				if round%2 == 1 {
					sl = fmt.Sprintf("%s-%d", slug, i)
				}
				errs[i] = s.AddFeed(ctx, sl, "http://example.com/"+slug+".xml", false, t0)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrExists):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d adds succeeded (%v), want 1", round, ok, errs)
		}
	}
	if n, err := a.FeedCount(ctx); err != nil || n != 10 {
		t.Fatalf("%d feeds, %v; want 10", n, err)
	}
}

// testSessions: a session is found by its hash until it expires or is deleted; creating one
// sweeps expired ones.
func testSessions(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	old := store.Session{IDHash: "old", CSRF: "c0", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, "old", t0.Add(time.Minute))
	if err != nil || got.CSRF != "c0" || !got.ExpiresAt.Equal(old.ExpiresAt) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("session = %+v, %v", got, err)
	}
	if _, err := s.Session(ctx, "old", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session: %v, want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, "nobody", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown session: %v, want ErrNotFound", err)
	}
	later := t0.Add(2 * time.Hour)
	if err := s.CreateSession(ctx, store.Session{IDHash: "new", CSRF: "c1", CreatedAt: later, ExpiresAt: later.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Swept: not found even when asked as of a time it was alive.
	if _, err := s.Session(ctx, "old", t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session not swept: %v", err)
	}
	if err := s.DeleteSession(ctx, "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "new", later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(ctx, "new"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
}

// testSubmissions: submissions round-trip, list newest first, and change status.
func testSubmissions(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		sub := store.Submission{ID: fmt.Sprintf("sub-%d", i), URL: fmt.Sprintf("http://example.com/%d.xml", i),
			Token: fmt.Sprintf("tok-%d", i), OwnerTokenHash: "hash", Status: store.SubmissionAwaiting,
			CreatedAt: t0.Add(time.Duration(i) * time.Minute), UpdatedAt: t0}
		if err := s.AddSubmission(ctx, sub); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Submission(ctx, "sub-1")
	if err != nil || got.URL != "http://example.com/1.xml" || got.Token != "tok-1" || got.Status != store.SubmissionAwaiting ||
		!got.CreatedAt.Equal(t0.Add(time.Minute)) || got.Slug != "" {
		t.Fatalf("submission = %+v, %v", got, err)
	}
	list, err := s.Submissions(ctx, 2)
	if err != nil || len(list) != 2 || list[0].ID != "sub-2" || list[1].ID != "sub-1" {
		t.Fatalf("submissions = %+v, %v", list, err)
	}
	at := t0.Add(time.Hour)
	if err := s.UpdateSubmission(ctx, "sub-1", store.SubmissionDone, "show-one", "token found", at); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Submission(ctx, "sub-1")
	if got.Status != store.SubmissionDone || got.Slug != "show-one" || got.Note != "token found" || !got.UpdatedAt.Equal(at) {
		t.Fatalf("after update = %+v", got)
	}
	if n, err := s.CountSubmissions(ctx, store.SubmissionAwaiting, time.Time{}); err != nil || n != 2 {
		t.Fatalf("awaiting submissions = %d, %v; want 2", n, err)
	}
	if n, err := s.CountSubmissions(ctx, store.SubmissionDone, time.Time{}); err != nil || n != 1 {
		t.Fatalf("subscribed submissions = %d, %v; want 1", n, err)
	}
	if n, err := s.CountSubmissions(ctx, store.SubmissionAwaiting, got.CreatedAt.Add(time.Nanosecond)); err != nil || n != 1 {
		t.Fatalf("awaiting submissions created after sub-1 = %d, %v; want 1", n, err)
	}
	if _, err := s.Submission(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown submission: %v", err)
	}
	if err := s.UpdateSubmission(ctx, "nope", store.SubmissionDone, "", "", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("updating an unknown submission: %v", err)
	}
}
