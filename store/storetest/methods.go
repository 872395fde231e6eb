package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// testFeedsAndPolls: feeds listed by slug, counted, poll results recorded; zero times stay zero.
func testFeedsAndPolls(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, slug := range []string{"zeta", "alpha"} {
		if err := s.EnsureFeed(ctx, slug, "http://example.com/"+slug+".xml"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.FeedCount(ctx); err != nil || n != 2 {
		t.Fatalf("feed count = %d, %v", n, err)
	}
	fs, err := s.Feeds(ctx)
	if err != nil || len(fs) != 2 || fs[0].Slug != "alpha" || fs[1].Slug != "zeta" {
		t.Fatalf("feeds = %+v, %v; want alpha, zeta", fs, err)
	}
	if f := fs[0]; f.Origin != store.OriginConfig || f.Paused || !f.AddedAt.IsZero() || f.OwnerConsent {
		t.Fatalf("a config feed = %+v; want origin config, not paused", f)
	}
	if f := fs[0]; !f.LastPollAt.IsZero() || !f.LastOKAt.IsZero() || !f.UpdatedAt.IsZero() || f.URL != "http://example.com/alpha.xml" {
		t.Fatalf("a new feed = %+v; want zero times", f)
	}
	if err := s.RecordPoll(ctx, "alpha", t0, "http_status", "origin said 503"); err != nil {
		t.Fatal(err)
	}
	f, err := s.Feed(ctx, "alpha")
	if err != nil || !f.LastPollAt.Equal(t0) || !f.LastOKAt.IsZero() || f.LastError != "origin said 503" || f.ErrorKind != "http_status" {
		t.Fatalf("after a failed poll = %+v, %v", f, err)
	}
	if err := s.RecordPoll(ctx, "alpha", t0.Add(time.Minute), "", ""); err != nil {
		t.Fatal(err)
	}
	if f, _ = s.Feed(ctx, "alpha"); !f.LastOKAt.Equal(t0.Add(time.Minute)) || f.LastError != "" || f.ErrorKind != "" {
		t.Fatalf("after a good poll = %+v", f)
	}
	if _, err := s.Feed(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown feed: %v, want ErrNotFound", err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatalf("check of a sound store: %v", err)
	}
}

// testEpisodeUpkeep: what the worker does to published episodes: look up by info hash, fail,
// mark synced, record a rewritten .torrent, evict.
func testEpisodeUpkeep(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if err := s.EnsureFeed(ctx, "show", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	eps := []store.Episode{
		{Key: "guid:a", GUID: "a", Title: "A", EnclosureURL: "http://example.com/a.mp3"},
		{Key: "guid:b", GUID: "b", Title: "B", Position: 1, EnclosureURL: "http://example.com/b.mp3"},
	}
	if err := s.SaveChannel(ctx, store.Feed{Slug: "show"}, eps, t0); err != nil {
		t.Fatal(err)
	}
	const ih = "0123456789abcdef0123456789abcdef01234567"
	const ihV2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	err := s.Publish(ctx, "show", "guid:a", store.Publication{InfoHash: ih, InfoHashV2: ihV2, TorrentPath: "torrents/a.torrent",
		TorrentSize: 100, MediaPath: "media/show/a.mp3", MediaSize: 10, At: t0, UnsyncedBoot: "boot-1", Node: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := s.EpisodeByInfoHash(ctx, ih); err != nil || e.Key != "guid:a" || e.State != store.StatePublished || e.InfoHashV2 != ihV2 {
		t.Fatalf("by info hash = %+v, %v", e, err)
	}
	if _, err := s.EpisodeByInfoHash(ctx, "1"+ih[1:]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown info hash: %v, want ErrNotFound", err)
	}
	if err := s.Fail(ctx, "show", "guid:b", "origin said 404"); err != nil {
		t.Fatal(err)
	}
	if failed, err := s.Failed(ctx, "show"); err != nil || len(failed) != 1 || failed[0].Key != "guid:b" || failed[0].Error != "origin said 404" {
		t.Fatalf("failed = %+v, %v", failed, err)
	}
	torrent := func() store.Torrent {
		t.Helper()
		ts, err := s.Torrents(ctx)
		if err != nil || len(ts) != 1 {
			t.Fatalf("torrents = %+v, %v", ts, err)
		}
		return ts[0]
	}
	if tr := torrent(); tr.UnsyncedBoot != "boot-1" || tr.MadeBy != "node-a" || tr.InfoHashV2 != ihV2 || tr.Evicted || tr.Title != "A" || tr.EnclosureURL != "http://example.com/a.mp3" || !tr.PublishedAt.Equal(t0) {
		t.Fatalf("torrent = %+v", tr)
	}
	if err := s.MarkSynced(ctx, "show", "guid:a"); err != nil {
		t.Fatal(err)
	}
	v0, _ := s.FeedVersion(ctx, "show")
	if err := s.SetTorrentFile(ctx, "show", "guid:a", 120, "ab"); err != nil {
		t.Fatal(err)
	}
	if tr := torrent(); tr.UnsyncedBoot != "" || tr.TorrentSize != 120 || tr.TorrentSHA256 != "ab" {
		t.Fatalf("after MarkSynced and SetTorrentFile: %+v", tr)
	}
	if v1, _ := s.FeedVersion(ctx, "show"); v1 == v0 {
		t.Fatal("a new .torrent size (the feed's enclosure length) did not move the feed's version")
	}
	if used, err := s.MediaInUse(ctx, "media/show/a.mp3"); err != nil || !used {
		t.Fatalf("media in use = %v, %v; want true", used, err)
	}
	if err := s.Evict(ctx, "show", "guid:a", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if used, _ := s.MediaInUse(ctx, "media/show/a.mp3"); used {
		t.Fatal("evicted media still in use")
	}
	if tr := torrent(); !tr.Evicted {
		t.Fatalf("after Evict: %+v", tr)
	}
	if e, _ := s.Episode(ctx, "show", "guid:a"); !e.EvictedAt.Equal(t0.Add(time.Hour)) || e.State != store.StatePublished {
		t.Fatalf("evicted episode = %+v; still published (web seed and peers serve it)", e)
	}
}

// testSnapshotsSinceAndTrackerPeers: a window's snapshots start from each tracker's last one
// at or before it; saved tracker peers come back once.
func testSnapshotsSinceAndTrackerPeers(t *testing.T, open Opener) {
	ctx := context.Background()
	s, another := open(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	const ih = "0123456789abcdef0123456789abcdef01234567"
	var snaps []store.Snapshot
	for i, tr := range []string{"udp://a", "udp://a", "udp://a", "udp://b"} {
		snaps = append(snaps, store.Snapshot{Tracker: tr, InfoHash: ih, At: t0.Add(time.Duration(i) * time.Hour), Complete: int64(i)})
	}
	if err := s.AddSnapshots(ctx, snaps); err != nil {
		t.Fatal(err)
	}
	got, err := s.SnapshotsSince(ctx, ih, t0.Add(90*time.Minute))
	// udp://a: its 01:00 baseline and 02:00; udp://b: 03:00 (no baseline before the window).
	want := "[udp://a@1 udp://a@2 udp://b@3]"
	var have []string
	for _, sn := range got {
		have = append(have, fmt.Sprintf("%s@%d", sn.Tracker, sn.Complete))
	}
	if err != nil || fmt.Sprint(have) != want {
		t.Fatalf("since 01:30 = %v, %v; want %s", have, err, want)
	}

	peers := []store.TrackerPeer{
		{InfoHash: ih, PeerID: [20]byte{'-', 'q', 'B', '1'}, Addr: "127.0.5.9:6881", WasLeecher: true, LastSeen: t0},
		{InfoHash: ih, PeerID: [20]byte{'-', 'T', 'R', '2'}, Addr: "[::1]:51413", Seeder: true, Counted: true, LastSeen: t0.Add(time.Second)},
	}
	if err := s.SaveTrackerPeers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	taken, err := another().TakeTrackerPeers(ctx)
	if err != nil || fmt.Sprint(taken) != fmt.Sprint(peers) {
		t.Fatalf("taken = %+v, %v; want %+v", taken, err, peers)
	}
	if again, err := s.TakeTrackerPeers(ctx); err != nil || len(again) != 0 {
		t.Fatalf("taken twice = %+v, %v; want none the second time", again, err)
	}
}
