package report

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
)

// The store keeps only the ends of each run of equal scrapes. Every window's
// figure from that history must equal the figure from every scrape.
func TestIncreaseSameFromStoredRuns(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var every []store.Snapshot
	var d int64
	const scrapes = 2 * 24 * 40 // 40 days, every 30 minutes
	for i := range scrapes {
		if rng.IntN(100) < 3 {
			d += int64(1 + rng.IntN(4))
		}
		if i == scrapes-3*48 {
			d = 0 // the tracker restarted and lost its counter, three days ago
		}
		sn := store.Snapshot{Tracker: external, InfoHash: hashOne, At: start.Add(time.Duration(i) * 30 * time.Minute), Downloaded: d}
		every = append(every, sn)
		if err := st.AddSnapshots(ctx, []store.Snapshot{sn}); err != nil {
			t.Fatal(err)
		}
	}
	now := every[len(every)-1].At
	stored, err := st.SnapshotsSince(ctx, hashOne, now.Add(-Month))
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) >= len(every)/4 {
		t.Fatalf("%d snapshots stored for %d scrapes: equal scrapes were not folded", len(stored), len(every))
	}
	for _, published := range []time.Time{{}, now.Add(-3 * Day)} {
		for _, w := range []time.Duration{time.Hour, Day, Week, Month} {
			from := now.Add(-w)
			if got, want := Increase(stored, from, now, published), Increase(every, from, now, published); got != want {
				t.Errorf("window %v (published %v): %d from stored runs, %d from every scrape", w, published, got, want)
			}
		}
	}
	figs := trackerFigures(stored, embedded, time.Time{}, now)
	if len(figs) != 1 || !figs[0].ScrapedAt.Equal(now) || figs[0].Downloaded != d {
		t.Fatalf("tracker figures = %+v; want the last scrape's time %v and counter %d", figs, now, d)
	}
	t.Logf("%d scrapes stored as %d snapshots in the last month", len(every), len(stored))
}
