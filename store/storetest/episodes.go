package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/store"
	"time"
)

func testEpisodeLifecycle(t *testing.T, open Opener) {
	ctx := context.Background()
	s, another := open(t)
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

	if err := s.EnsureFeed(ctx, "demo", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	eps := []store.Episode{
		{Key: "guid:a", GUID: "a", Title: "A", EnclosureURL: "http://example.com/a.mp3", EnclosureType: "audio/mpeg", EnclosureLength: 10},
		{Key: "guid:b", GUID: "b", Title: "B", Position: 1, EnclosureURL: "http://example.com/b.mp3"},
		{Key: "guid:c", GUID: "c", Title: "no enclosure", Position: 2},
	}
	if err := s.SaveChannel(ctx, store.Feed{Slug: "demo", Title: "Demo", ETag: `"x"`}, eps, at); err != nil {
		t.Fatal(err)
	}
	pending, err := s.Unpublished(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || pending[0].Key != "guid:a" || pending[1].Key != "guid:b" {
		t.Fatalf("unpublished = %+v, want a and b", pending)
	}

	pub := store.Publication{InfoHash: "0123456789abcdef0123456789abcdef01234567", TorrentPath: "torrents/a.torrent",
		TorrentSize: 321, MediaPath: "media/demo/a.mp3", MediaSize: 10, At: at}
	if err := s.Publish(ctx, "demo", "guid:a", pub); err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(ctx, "demo", "guid:b", "origin said 500"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureFeed(ctx, "other", "http://example.com/other.xml"); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveChannel(ctx, store.Feed{Slug: "other", Title: "Other"},
		[]store.Episode{{Key: "guid:o", GUID: "o", Title: "O", EnclosureURL: "http://example.com/o.mp3"}}, at); err != nil {
		t.Fatal(err)
	}
	counts, err := s.AllStateCounts(ctx)
	if want := map[string]int{store.StatePublished: 1, store.StateFailed: 1, store.StatePending: 1}; err != nil || !maps.Equal(counts, want) {
		t.Errorf("AllStateCounts = %v, %v; want %v (episodes without an enclosure not counted)", counts, err, want)
	}
	// A later poll where the enclosure URL gained a tracking parameter must
	// not change what the published torrent was made from.
	eps[0].EnclosureURL = "http://example.com/a.mp3?utm_source=x"
	eps[0].Title = "A, renamed"
	if err := s.SaveChannel(ctx, store.Feed{Slug: "demo", Title: "Demo 2"}, eps, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Reopen: everything is durable.
	s2 := another()
	published, err := s2.Published(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	// The item without an enclosure is published as it is, after a.
	if len(published) != 2 || published[1].Key != "guid:c" || published[1].InfoHash != "" {
		t.Fatalf("published = %+v, want a and the enclosure-less c", published)
	}
	got := published[0]
	if got.Title != "A, renamed" || got.EnclosureURL != "http://example.com/a.mp3" || got.InfoHash != pub.InfoHash ||
		got.TorrentSize != 321 || !got.PublishedAt.Equal(at) {
		t.Fatalf("published episode = %+v", got)
	}
	b, err := s2.Episode(ctx, "demo", "guid:b")
	if err != nil {
		t.Fatal(err)
	}
	if b.State != store.StateFailed || b.Error != "origin said 500" {
		t.Fatalf("episode b = %s %q, want failed with its error", b.State, b.Error)
	}
	if _, err := s2.Episode(ctx, "demo", "guid:zzz"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing episode err = %v, want store.ErrNotFound", err)
	}
	if _, err := s2.Feed(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing feed err = %v, want store.ErrNotFound", err)
	}
	ts, err := s2.Torrents(ctx)
	if err != nil || len(ts) != 1 || ts[0].InfoHash != pub.InfoHash {
		t.Fatalf("torrents = %+v, %v", ts, err)
	}

	// A changed enclosure: the old torrent leaves the feed but keeps seeding,
	// and the identity is free to be downloaded again.
	if err := s2.Supersede(ctx, "demo", "guid:a"); err != nil {
		t.Fatal(err)
	}
	if err := s2.SaveChannel(ctx, store.Feed{Slug: "demo", Title: "Demo 2"}, eps, at.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if un, _ := s2.Unpublished(ctx, "demo"); len(un) != 2 || un[0].Key != "guid:a" {
		t.Fatalf("after supersede, unpublished = %+v, want a again (and b)", un)
	}
	if ts, _ := s2.Torrents(ctx); len(ts) != 1 || ts[0].InfoHash != pub.InfoHash {
		t.Fatalf("superseded torrent should keep seeding: %+v", ts)
	}
	if p, _ := s2.Published(ctx, "demo"); len(p) != 1 || p[0].Key != "guid:c" {
		t.Fatalf("superseded torrent should leave the feed: %+v", p)
	}
	f, err := s2.Feed(ctx, "demo")
	if err != nil || f.Title != "Demo 2" {
		t.Fatalf("feed = %+v, %v", f, err)
	}
}

func testCompletionsOncePerPeer(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	ih := "0123456789abcdef0123456789abcdef01234567"
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		peer string
		want bool
	}{{"p1", true}, {"p2", true}, {"p1", false}} {
		added, err := s.RecordCompletion(ctx, ih, c.peer, at.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if added != c.want {
			t.Fatalf("completion %d (%s): added=%v, want %v", i, c.peer, added, c.want)
		}
	}
	n, err := s.CompletionCount(ctx, ih)
	if err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
	times, err := s.Completions(ctx, ih)
	if err != nil || len(times) != 2 || !times[0].Equal(at) {
		t.Fatalf("completions = %v, %v", times, err)
	}
}

func testSnapshots(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	ih := "0123456789abcdef0123456789abcdef01234567"
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	in := []store.Snapshot{
		{Tracker: "udp://b", InfoHash: ih, At: at.Add(time.Hour), Complete: 1, Downloaded: 3},
		{Tracker: "http://a", InfoHash: ih, At: at, Complete: 2, Incomplete: 1, Downloaded: 5},
	}
	if err := s.AddSnapshots(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Snapshots(ctx, ih)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != in[1] || got[1] != in[0] {
		t.Fatalf("snapshots = %+v", got)
	}
}

// FeedVersion answers from memory between writes: a change made through the
// same handle must show at once, and so must one made by another process or node.
func testFeedVersionSeesLocalAndOtherProcessChanges(t *testing.T, open Opener) {
	ctx := context.Background()
	s, another := open(t)
	if err := s.EnsureFeed(ctx, "demo", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	v0, err := s.FeedVersion(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	ep := []store.Episode{{Key: "guid:a", GUID: "a", Title: "A"}}
	if err := s.SaveChannel(ctx, store.Feed{Slug: "demo", Title: "Demo"}, ep, time.Now()); err != nil {
		t.Fatal(err)
	}
	v1, err := s.FeedVersion(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if v1 == v0 {
		t.Fatalf("version after a local write = %d, unchanged", v1)
	}

	other := another()
	if err := other.SaveChannel(ctx, store.Feed{Slug: "demo", Title: "Demo 2"}, ep, time.Now()); err != nil {
		t.Fatal(err)
	}
	// No cache anywhere: the other handle's write shows at once.
	if v2, err := s.FeedVersion(ctx, "demo"); err != nil || v2 == v1 {
		t.Fatalf("version after another handle's write = %d, %v; want a change from %d", v2, err, v1)
	}

	if _, err := s.FeedVersion(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown slug: err = %v, want store.ErrNotFound", err)
	}
}

// A poll that brings the same channel and items must not move the feed's
// version or UpdatedAt (the output's lastBuildDate and ETag); any change to
// what the output shows must.
func testSaveChannelMovesVersionOnlyOnChange(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	if err := s.EnsureFeed(ctx, "demo", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	ch := store.Feed{Slug: "demo", Title: "Demo", Description: "d", ETag: `"1"`}
	eps := []store.Episode{
		{Key: "guid:a", GUID: "a", Title: "A", EnclosureURL: "http://example.com/a.mp3", EnclosureLength: 10},
		{Key: "guid:b", GUID: "b", Title: "B", Position: 1},
	}
	state := func() (int64, time.Time, time.Time) {
		t.Helper()
		v, err := s.FeedVersion(ctx, "demo")
		if err != nil {
			t.Fatal(err)
		}
		f, err := s.Feed(ctx, "demo")
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.Unpublished(ctx, "demo")
		if err != nil || len(all) != 1 {
			t.Fatalf("unpublished = %v, %v", all, err)
		}
		return v, f.UpdatedAt, all[0].SeenAt
	}
	if err := s.SaveChannel(ctx, ch, eps, at); err != nil {
		t.Fatal(err)
	}
	v0, upd0, _ := state()
	if !upd0.Equal(at) {
		t.Fatalf("UpdatedAt after the first save = %v, want %v", upd0, at)
	}
	if err := s.Publish(ctx, "demo", "guid:a", store.Publication{InfoHash: "0123456789abcdef0123456789abcdef01234567",
		TorrentPath: "t", MediaPath: "m", At: at}); err != nil {
		t.Fatal(err)
	}
	eps = append(eps, store.Episode{Key: "guid:c", GUID: "c", Title: "C", Position: 2, EnclosureURL: "http://example.com/c.mp3"})
	if err := s.SaveChannel(ctx, ch, eps, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	v1, upd1, _ := state()
	if v1 == v0 || !upd1.Equal(at.Add(time.Hour)) {
		t.Fatalf("a new item: version %d -> %d, UpdatedAt %v; want a new version at +1h", v0, v1, upd1)
	}

	// The same feed again, with new validators and a tracking parameter on
	// the published enclosure (the torrent keeps its own): nothing shown changed.
	ch.ETag = `"2"`
	eps[0].EnclosureURL = "http://example.com/a.mp3?utm_source=x"
	later := at.Add(2 * time.Hour)
	if err := s.SaveChannel(ctx, ch, eps, later); err != nil {
		t.Fatal(err)
	}
	v2, upd2, seen2 := state()
	if v2 != v1 || !upd2.Equal(upd1) {
		t.Fatalf("an unchanged poll moved version %d -> %d or UpdatedAt %v -> %v", v1, v2, upd1, upd2)
	}
	if !seen2.Equal(later) {
		t.Fatalf("seen_at of an unchanged item = %v, want %v", seen2, later)
	}
	if f, _ := s.Feed(ctx, "demo"); f.ETag != `"2"` || !f.LastOKAt.Equal(later) {
		t.Fatalf("validators and poll time not saved: %+v", f)
	}

	for name, change := range map[string]func(){
		"channel description": func() { ch.Description = "new" },
		"item title":          func() { eps[1].Title = "B, renamed" },
		"item order":          func() { eps[0].Position, eps[1].Position = 1, 0 },
		"item extra":          func() { eps[0].Extra = "<itunes:episode>2</itunes:episode>" },
	} {
		before, _, _ := state()
		change()
		later = later.Add(time.Hour)
		if err := s.SaveChannel(ctx, ch, eps, later); err != nil {
			t.Fatal(err)
		}
		if after, upd, _ := state(); after == before || !upd.Equal(later) {
			t.Fatalf("%s changed: version %d -> %d, UpdatedAt %v; want a new version", name, before, after, upd)
		}
	}
}

// An episode the source stops listing leaves what the output shows (and is
// not downloaded), keeps its torrent seeding and its place in reports, and
// comes back when the source lists it again.
func testSourceRemovalDelists(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	if err := s.EnsureFeed(ctx, "demo", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	a := store.Episode{Key: "guid:a", GUID: "a", Title: "A", EnclosureURL: "http://example.com/a.mp3"}
	b := store.Episode{Key: "guid:b", GUID: "b", Title: "B", Position: 1, EnclosureURL: "http://example.com/b.mp3"}
	c := store.Episode{Key: "guid:c", GUID: "c", Title: "C", Position: 2, EnclosureURL: "http://example.com/c.mp3"}
	if err := s.SaveChannel(ctx, store.Feed{Slug: "demo", Title: "Demo"}, []store.Episode{a, b, c}, at); err != nil {
		t.Fatal(err)
	}
	for i, key := range []string{"guid:a", "guid:b"} {
		if err := s.Publish(ctx, "demo", key, store.Publication{InfoHash: fmt.Sprintf("%040d", i+1), TorrentPath: "t",
			MediaPath: "m" + key, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(eps []store.Episode, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range eps {
			out = append(out, strings.TrimPrefix(e.Key, "guid:"))
		}
		return strings.Join(out, ",")
	}
	v0, _ := s.FeedVersion(ctx, "demo")

	// The source drops b (published) and c (not downloaded yet) and adds d
	// at the top, so b's old position would tie with a's new one.
	d := store.Episode{Key: "guid:d", GUID: "d", Title: "D", EnclosureURL: "http://example.com/d.mp3"}
	a.Position = 1
	if err := s.SaveChannel(ctx, store.Feed{Slug: "demo", Title: "Demo"}, []store.Episode{d, a}, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := keys(s.Listed(ctx, "demo")); got != "a" {
		t.Fatalf("listed after the source dropped b and c = %q, want a", got)
	}
	if got := keys(s.Unpublished(ctx, "demo")); got != "d" {
		t.Fatalf("to download = %q, want d only (c was removed before its download)", got)
	}
	if got := keys(s.Published(ctx, "demo")); got != "a,b" {
		t.Fatalf("published (for reports) = %q, want a,b", got)
	}
	if got := keys(s.Seeded(ctx, "demo")); got != "a,b" {
		t.Fatalf("seeded = %q, want a then the unlisted b (retention removes it first)", got)
	}
	if eb, _ := s.Episode(ctx, "demo", "guid:b"); !eb.UnlistedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("b unlisted at %v, want %v", eb.UnlistedAt, at.Add(time.Hour))
	}
	if v1, _ := s.FeedVersion(ctx, "demo"); v1 == v0 {
		t.Fatal("dropping a published episode did not change the feed's version")
	}

	// b is listed again, unchanged: back in the feed with its torrent.
	b.Position = 2
	v1, _ := s.FeedVersion(ctx, "demo")
	if err := s.SaveChannel(ctx, store.Feed{Slug: "demo", Title: "Demo"}, []store.Episode{d, a, b}, at.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := keys(s.Listed(ctx, "demo")); got != "a,b" {
		t.Fatalf("listed after b came back = %q, want a,b", got)
	}
	if eb, _ := s.Episode(ctx, "demo", "guid:b"); !eb.UnlistedAt.IsZero() || eb.InfoHash != fmt.Sprintf("%040d", 2) {
		t.Fatalf("b after it came back: unlisted %v, torrent %q", eb.UnlistedAt, eb.InfoHash)
	}
	if v2, _ := s.FeedVersion(ctx, "demo"); v2 == v1 {
		t.Fatal("an episode listed again did not change the feed's version")
	}
}

// Equal scrapes keep only a run's first and last snapshot, and a change
// starts a new run; the compaction migration does the same to old history.
func testSnapshotsStoreChangesOnly(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	ih := "0123456789abcdef0123456789abcdef01234567"
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	series := []int64{5, 5, 5, 5, 7, 7, 2, 2, 2} // downloaded at each 10-minute scrape (2: a reset)
	var all []store.Snapshot
	for i, d := range series {
		sn := store.Snapshot{Tracker: "http://a", InfoHash: ih, At: at.Add(time.Duration(i) * 10 * time.Minute), Complete: 1, Downloaded: d}
		all = append(all, sn)
		// Another tracker's scrapes, equal all along, interleave with these.
		other := store.Snapshot{Tracker: "udp://b", InfoHash: ih, At: sn.At, Complete: 4}
		if err := s.AddSnapshots(ctx, []store.Snapshot{sn, other}); err != nil {
			t.Fatal(err)
		}
	}
	type point struct {
		tracker string
		min     int
		d       int64
	}
	points := func(snaps []store.Snapshot) []point {
		var out []point
		for _, sn := range snaps {
			out = append(out, point{sn.Tracker, int(sn.At.Sub(at) / time.Minute), sn.Downloaded})
		}
		return out
	}
	want := []point{{"http://a", 0, 5}, {"udp://b", 0, 0}, {"http://a", 30, 5}, {"http://a", 40, 7},
		{"http://a", 50, 7}, {"http://a", 60, 2}, {"http://a", 80, 2}, {"udp://b", 80, 0}}
	got, err := s.Snapshots(ctx, ih)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(points(got)) != fmt.Sprint(want) {
		t.Fatalf("stored runs:\n got %v\nwant %v", points(got), want)
	}

}

// A requeued episode (damaged media) whose re-download brings other bytes is
// published with another torrent; the torrent it had stays as a superseded,
// evicted version, so its completions still count in the episode's report.
func testRepublishKeepsReplacedTorrent(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if err := s.EnsureFeed(ctx, "demo", "http://example.com/feed.xml"); err != nil {
		t.Fatal(err)
	}
	eps := []store.Episode{{Key: "guid:a", ItemKey: "guid:a", GUID: "a", Title: "A", EnclosureURL: "http://example.com/a.mp3"}}
	if err := s.SaveChannel(ctx, store.Feed{Slug: "demo", Title: "Demo"}, eps, at); err != nil {
		t.Fatal(err)
	}
	v1 := store.Publication{InfoHash: strings.Repeat("a", 40), TorrentPath: "torrents/a.torrent", MediaPath: "media/demo/a.mp3", MediaSize: 10, At: at}
	if err := s.Publish(ctx, "demo", "guid:a", v1); err != nil {
		t.Fatal(err)
	}
	// The same torrent published again (a re-download with the same bytes) keeps one row.
	if err := s.Publish(ctx, "demo", "guid:a", v1); err != nil {
		t.Fatal(err)
	}
	if rep, err := s.Reported(ctx, "demo"); err != nil || len(rep) != 1 {
		t.Fatalf("reported after republishing the same torrent = %+v, %v; want one row", rep, err)
	}
	if err := s.Requeue(ctx, "demo", "guid:a", "media damaged"); err != nil {
		t.Fatal(err)
	}
	v2 := v1
	v2.InfoHash, v2.At = strings.Repeat("b", 40), at.Add(time.Hour)
	if err := s.Publish(ctx, "demo", "guid:a", v2); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Reported(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep) != 2 || rep[0].InfoHash != v2.InfoHash || rep[0].State != "published" ||
		rep[1].InfoHash != v1.InfoHash || rep[1].State != "superseded" || !rep[1].EvictedAt.Equal(v2.At) ||
		rep[1].ItemKey != "guid:a" || rep[1].Key != "guid:a@"+v1.InfoHash {
		t.Fatalf("reported = %+v; want v2 published and v1 kept as superseded, evicted", rep)
	}
	seeded, err := s.Seeded(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(seeded) != 1 || seeded[0].InfoHash != v2.InfoHash {
		t.Fatalf("seeded = %+v; want only v2 (v1's media was replaced)", seeded)
	}
}
