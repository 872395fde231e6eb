package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// testAudienceSaltPerPeriod: one salt per 30-day period, kept through it (every node and
// restart keys a listener alike), deleted once the period after the next begins.
func testAudienceSaltPerPeriod(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	// 2026-11-03 is day 20760 since the epoch, a multiple of 30: a period starts then.
	start := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	first, err := s.AudienceSalt(ctx, start, []byte("salt-1"))
	if err != nil || string(first) != "salt-1" {
		t.Fatalf("first salt = %q, %v", first, err)
	}
	before, err := s.AudienceSalt(ctx, start.Add(-time.Second), []byte("salt-0"))
	if err != nil || string(before) != "salt-0" {
		t.Fatalf("the second before = %q, %v; want a period of its own (salt-0)", before, err)
	}
	late, err := s.AudienceSalt(ctx, start.Add(store.AudiencePeriod-time.Second), []byte("salt-2"))
	if err != nil || string(late) != "salt-1" {
		t.Fatalf("the period's last second = %q, %v; want salt-1", late, err)
	}
	next, err := s.AudienceSalt(ctx, start.Add(store.AudiencePeriod), []byte("salt-3"))
	if err != nil || string(next) != "salt-3" || bytes.Equal(next, first) {
		t.Fatalf("next period = %q, %v; want salt-3", next, err)
	}
	// Asking in the period after next deletes the first period's salt.
	if _, err := s.AudienceSalt(ctx, start.Add(2*store.AudiencePeriod), []byte("salt-4")); err != nil {
		t.Fatal(err)
	}
	if again, err := s.AudienceSalt(ctx, start, []byte("salt-5")); err != nil || string(again) != "salt-5" {
		t.Fatalf("first period's salt two periods on = %q, %v; want it deleted and salt-5 stored", again, err)
	}
}

// testAudienceListens: one listen per torrent, kind, listener and UTC day; the counts by
// client and country follow the new ones only; the feed-wide reads see only the feed's
// torrents; pruning deletes per-listener rows and keeps the counts.
func testAudienceListens(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	t0 := time.Date(2026, 11, 1, 23, 0, 0, 0, time.UTC)
	hash := func(i int) string { return fmt.Sprintf("%040x", i) }
	for f, slug := range []string{"one", "two"} {
		if err := s.EnsureFeed(ctx, slug, "http://example.com/"+slug+".xml"); err != nil {
			t.Fatal(err)
		}
		ep := store.Episode{Key: "guid:0", GUID: "0", EnclosureURL: "http://example.com/" + slug + ".mp3"}
		if err := s.SaveChannel(ctx, store.Feed{Slug: slug}, []store.Episode{ep}, t0); err != nil {
			t.Fatal(err)
		}
		ih := hash(f)
		if err := s.Publish(ctx, slug, ep.Key, store.Publication{InfoHash: ih, TorrentPath: "t/" + ih,
			TorrentSize: 1, MediaPath: "m/" + slug, MediaSize: 1, At: t0}); err != nil {
			t.Fatal(err)
		}
	}
	one, two := hash(0), hash(1)
	for i, c := range []struct {
		l    store.Listen
		want bool
	}{
		{store.Listen{InfoHash: one, Kind: store.ListenStart, Listener: "A", Client: "aria2", Country: "DE", At: t0}, true},
		{store.Listen{InfoHash: one, Kind: store.ListenStart, Listener: "A", Client: "aria2", Country: "DE", At: t0.Add(time.Minute)}, false},
		{store.Listen{InfoHash: one, Kind: store.ListenDownload, Listener: "A", Client: "aria2", Country: "DE", At: t0.Add(2 * time.Minute)}, true},
		{store.Listen{InfoHash: one, Kind: store.ListenDownload, Listener: "B", Client: "aria2", Country: "FR", At: t0.Add(3 * time.Minute)}, true},
		{store.Listen{InfoHash: one, Kind: store.ListenDownload, Listener: "A", Client: "aria2", Country: "DE", At: t0.Add(2 * time.Hour)}, true}, // the next UTC day
		{store.Listen{InfoHash: two, Kind: store.ListenDownload, Listener: "A", Client: "qBittorrent", Country: "unknown", At: t0}, true},
	} {
		added, err := s.RecordListen(ctx, c.l)
		if err != nil {
			t.Fatal(err)
		}
		if added != c.want {
			t.Fatalf("listen %d (%+v): added=%v, want %v", i, c.l, added, c.want)
		}
	}
	counts, err := s.FeedAudienceCounts(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	want := "[{2026-11-01 download aria2 DE 1} {2026-11-01 download aria2 FR 1} {2026-11-01 start aria2 DE 1} {2026-11-02 download aria2 DE 1}]"
	if got := fmt.Sprint(counts[one]); got != want || len(counts) != 1 {
		t.Fatalf("feed one's counts = %v; want only %s: %s", counts, one, want)
	}
	listens, err := s.FeedListens(ctx, "one", t0.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got := listens[one]; len(listens) != 1 || len(got) != 2 || got[0].Listener != "B" || got[1].Listener != "A" ||
		!got[1].At.Equal(t0.Add(2*time.Hour)) || got[0].Kind != store.ListenDownload {
		t.Fatalf("feed one's download listens since +3m = %+v", listens)
	}
	n, err := s.PruneListens(ctx, t0.Add(time.Hour))
	if err != nil || n != 4 {
		t.Fatalf("pruned %d, %v; want the 4 rows before +1h", n, err)
	}
	if listens, err = s.FeedListens(ctx, "one", time.Time{}); err != nil || len(listens[one]) != 1 {
		t.Fatalf("after pruning: %+v, %v; want the one of the next day", listens, err)
	}
	if counts, err = s.FeedAudienceCounts(ctx, "one"); err != nil || len(counts[one]) != 4 {
		t.Fatalf("after pruning the counts = %v, %v; want them kept", counts, err)
	}
	for i := range 3 {
		if _, err := s.RecordCompletion(ctx, one, fmt.Sprint("L", i%2), t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := s.FeedCompletionEvents(ctx, "one")
	if err != nil || len(ev) != 1 || ev[one] != 3 {
		t.Fatalf("feed one's raw completions = %v, %v; want %s: 3", ev, err, one)
	}
}
