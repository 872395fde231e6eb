package report

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
)

// An episode whose enclosure changed keeps its first torrent's completions:
// the report sums both torrents, lists both, and the totals add up, also
// while the new file is still downloading and after retention deleted the
// old one's media. A real store, driven as the worker drives it.
func TestReplacedEpisodeFromStore(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.EnsureFeed(ctx, "show", "http://127.0.0.1:9/feed.xml"); err != nil {
		t.Fatal(err)
	}
	items := func(length int64) []store.Episode {
		return []store.Episode{
			{Key: "guid:a", ItemKey: "guid:a", GUID: "a", Title: "A", Published: ago(10 * Day),
				EnclosureURL: "http://127.0.0.1:9/a.mp3", EnclosureLength: length},
			{Key: "guid:b", ItemKey: "guid:b", GUID: "b", Title: "B", Position: 1, Published: ago(20 * Day),
				EnclosureURL: "http://127.0.0.1:9/b.mp3", EnclosureLength: 5},
		}
	}
	if err := st.SaveChannel(ctx, store.Feed{Slug: "show", Title: "Show"}, items(100), ago(10*Day)); err != nil {
		t.Fatal(err)
	}
	oldMedia := filepath.Join(dir, "media", "a-v1.mp3")
	os.MkdirAll(filepath.Dir(oldMedia), 0o755)
	if err := os.WriteFile(oldMedia, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	publish := func(key, hash, media string, at time.Time) {
		t.Helper()
		if err := st.Publish(ctx, "show", key, store.Publication{InfoHash: hash, MediaPath: media, At: at}); err != nil {
			t.Fatal(err)
		}
	}
	complete := func(hash string, n int, at time.Time) {
		t.Helper()
		for i := range n {
			if _, err := st.RecordCompletion(ctx, hash, fmt.Sprintf("%s-peer-%d", hash[:4], i), at.Add(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish("guid:a", hashOne, "media/a-v1.mp3", ago(10*Day))
	publish("guid:b", hashTwo, "media/b.mp3", ago(20*Day))
	complete(hashOne, 25, ago(8*Day))
	complete(hashTwo, 2, ago(15*Day))

	// The enclosure changes: v1 moves aside, the identity is downloaded again.
	if err := st.Supersede(ctx, "show", "guid:a"); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveChannel(ctx, store.Feed{Slug: "show", Title: "Show"}, items(200), ago(3*Day)); err != nil {
		t.Fatal(err)
	}
	load := func() Report {
		t.Helper()
		r, err := Load(ctx, st, "show", embedded, DefaultCostPerGB, now)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := load()
	if len(r.Episodes) != 2 || r.Episodes[0].GUID != "a" || r.Episodes[0].Downloads != 25 || r.Totals.Downloads != 27 {
		t.Fatalf("while the new file downloads: %+v, totals %+v; want a's 25 downloads kept", r.Episodes, r.Totals)
	}

	publish("guid:a", hashOld, "media/a-v2.mp3", ago(3*Day))
	complete(hashOld, 4, ago(2*Day))
	// Retention evicts the superseded torrent and deletes its media.
	if err := st.Evict(ctx, "show", "guid:a@"+hashOne, ago(Day)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(oldMedia); err != nil {
		t.Fatal(err)
	}

	r = load()
	if len(r.Episodes) != 2 {
		t.Fatalf("%d episodes, want 2 (one per item, not per torrent): %+v", len(r.Episodes), r.Episodes)
	}
	a := r.Episodes[0]
	if a.GUID != "a" || a.InfoHash != hashOld || a.Downloads != 29 || a.Downloads7d != 4 || a.Downloads30d != 29 {
		t.Errorf("episode a = %+v, want 25 + 4 downloads (7d 4, 30d 29) under the new torrent's hash", a)
	}
	if len(a.Torrents) != 2 {
		t.Fatalf("episode a torrents = %+v, want 2", a.Torrents)
	}
	cur, old := a.Torrents[0], a.Torrents[1]
	if cur.InfoHash != hashOld || cur.State != TorrentCurrent || cur.Downloads != 4 || !cur.EvictedAt.IsZero() ||
		old.InfoHash != hashOne || old.State != TorrentSuperseded || old.Downloads != 25 || !old.EvictedAt.Equal(ago(Day)) ||
		!old.PublishedAt.Equal(ago(10*Day)) {
		t.Errorf("episode a torrents = %+v", a.Torrents)
	}
	if b := r.Episodes[1]; b.GUID != "b" || b.Downloads != 2 || len(b.Torrents) != 1 {
		t.Errorf("episode b = %+v", b)
	}
	if r.Totals.Episodes != 2 || r.Totals.Downloads != 31 || r.Totals.Downloads7d != 4 {
		t.Errorf("totals = %+v, want 2 episodes, 31 downloads (7d 4)", r.Totals)
	}
	var chart int64
	for _, d := range r.Daily {
		chart += d.Downloads
	}
	if chart != 31 {
		t.Errorf("chart sums to %d, want 31", chart)
	}
}
