package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/postgres"
	"github.com/seedcast/seedcast/store/sqldb"
	"github.com/seedcast/seedcast/store/sqlite"
)

// A SQLite installation copied to PostgreSQL reads back the same through every method a report
// or a restart uses, and the copy keeps working (new snapshots, completions, episodes).
func TestCopySQLiteToPostgres(t *testing.T) {
	ctx := context.Background()
	src, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	populate(t, src, at)

	dst, err := postgres.Open(ctx, srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	counts, err := sqldb.Copy(ctx, dst, src)
	if err != nil {
		t.Fatal(err)
	}
	if counts["episodes"] != 5 || counts["completions"] != 3 || counts["snapshots"] != 3 || counts["tracker_peers"] != 1 {
		t.Errorf("rows copied = %v", counts)
	}
	want, got := figures(t, src, at), figures(t, dst, at)
	if got != want {
		t.Fatalf("after the copy:\n got %s\nwant %s", got, want)
	}
	// A second copy into a store with feeds is refused, not merged.
	if _, err := sqldb.Copy(ctx, dst, src); err == nil || !strings.Contains(err.Error(), "empty store") {
		t.Fatalf("copy into a full store: %v", err)
	}
	// The copy is a working store: new rows after the copied ones.
	if err := dst.AddSnapshots(ctx, []store.Snapshot{{Tracker: "udp://x", InfoHash: ih(1), At: at.Add(time.Hour), Complete: 9}}); err != nil {
		t.Fatalf("snapshot after the copy: %v", err)
	}
	if ok, err := dst.RecordCompletion(ctx, ih(1), "l-new", at); err != nil || !ok {
		t.Fatalf("completion after the copy: %v %v", ok, err)
	}
	for _, s := range []store.Store{src, dst} {
		if peers, err := s.TakeTrackerPeers(ctx); err != nil || len(peers) != 1 || peers[0].Addr != "127.0.5.9:6881" || !peers[0].WasLeecher {
			t.Fatalf("tracker peers = %+v, %v", peers, err)
		}
	}
}

func ih(i int) string { return fmt.Sprintf("%040x", i) }

func populate(t *testing.T, s store.Store, at time.Time) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.EnsureFeed(ctx, "show", "http://example.com/feed.xml"))
	eps := []store.Episode{
		{Key: "guid:a", GUID: "a", GUIDIsPermaLink: true, Title: "A", Description: "<p>notes</p>", Published: at,
			EnclosureURL: "http://example.com/a.mp3", EnclosureType: "audio/mpeg", EnclosureLength: 10, Extra: `<x a="1"/>`},
		{Key: "guid:b", GUID: "b", Title: "B", Position: 1, EnclosureURL: "http://example.com/b.mp3"},
		{Key: "guid:c", GUID: "c", Title: "C", Position: 2, EnclosureURL: "http://example.com/c.mp3"},
		{Key: "guid:d", GUID: "d", Title: "no enclosure", Position: 3},
	}
	must(s.SaveChannel(ctx, store.Feed{Slug: "show", Title: "Show", Author: "Jane", ETag: `"e1"`, Extra: "<itunes:explicit>no</itunes:explicit>"}, eps, at))
	pub := func(i int, key string) store.Publication {
		return store.Publication{InfoHash: ih(i), TorrentPath: fmt.Sprintf("torrents/%s.torrent", ih(i)), TorrentSize: 300,
			TorrentSHA256: strings.Repeat("ab", 32), MediaPath: "media/show/" + key, MediaSize: 10, SHA256: strings.Repeat("cd", 32),
			ETag: `"m"`, At: at, UnsyncedBoot: "boot-1"}
	}
	must(s.Publish(ctx, "show", "guid:a", pub(1, "a")))
	must(s.Publish(ctx, "show", "guid:b", pub(2, "b")))
	// b's file changed: a new torrent, the old one kept as superseded.
	must(s.Replace(ctx, "show", "guid:b", "http://example.com/b2.mp3", "audio/mpeg", 12, pub(3, "b2")))
	must(s.Fail(ctx, "show", "guid:c", "origin said 500"))
	for i, l := range []string{"l1", "l2", "l1"} {
		_, err := s.RecordCompletion(ctx, ih(1), l, at.Add(time.Duration(i)*25*time.Hour))
		must(err)
	}
	_, err := s.RecordCompletion(ctx, ih(1), "l1", at) // a repeat the same day: raw only
	must(err)
	_, err = s.ListenerSalt(ctx, at, []byte("salt-of-the-day"))
	must(err)
	must(s.AddSnapshots(ctx, []store.Snapshot{
		{Tracker: "udp://x", InfoHash: ih(1), At: at, Complete: 1, Downloaded: 1},
		{Tracker: "udp://x", InfoHash: ih(1), At: at.Add(time.Minute), Complete: 2, Downloaded: 3},
		{Tracker: "http://y", InfoHash: ih(2), At: at, Complete: 5, Incomplete: 1},
	}))
	must(s.SaveTrackerPeers(ctx, []store.TrackerPeer{{InfoHash: ih(1), PeerID: [20]byte{'-', 'q', 'B'}, Addr: "127.0.5.9:6881",
		WasLeecher: true, LastSeen: at}}))
}

// figures is everything the reports, feeds and a restart read, as one string.
func figures(t *testing.T, s store.Store, at time.Time) string {
	ctx := context.Background()
	var b strings.Builder
	w := func(v ...any) {
		for _, x := range v {
			if err, ok := x.(error); ok && err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintln(&b, v...)
	}
	feeds, err := s.Feeds(ctx)
	w(fmt.Sprintf("%+v", feeds), err)
	v, err := s.FeedVersion(ctx, "show")
	w(v, err)
	for _, list := range []func(context.Context, string) ([]store.Episode, error){s.Reported, s.Listed, s.Seeded, s.Failed, s.Unpublished} {
		eps, err := list(ctx, "show")
		w(fmt.Sprintf("%+v", eps), err)
	}
	ts, err := s.Torrents(ctx)
	w(fmt.Sprintf("%+v", ts), err)
	sc, err := s.StateCounts(ctx, "show")
	w(fmt.Sprint(sc), err)
	for i := 1; i <= 3; i++ {
		c, err := s.CompletionCount(ctx, ih(i))
		w(c, err)
		e, err := s.CompletionEvents(ctx, ih(i))
		w(e, err)
		cs, err := s.Completions(ctx, ih(i))
		w(fmt.Sprint(cs), err)
		sn, err := s.Snapshots(ctx, ih(i))
		w(fmt.Sprintf("%+v", sn), err)
		since, err := s.SnapshotsSince(ctx, ih(i), at.Add(30*time.Second))
		w(fmt.Sprintf("%+v", since), err)
	}
	salt, err := s.ListenerSalt(ctx, at, []byte("another"))
	w(string(salt), err)
	return b.String()
}
