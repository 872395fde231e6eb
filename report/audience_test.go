package report

import (
	"fmt"
	"strings"
	"testing"
)

// TestAudienceOnFixedClock: starts, completion rate, unique listeners (an item's torrents one
// episode, the feed's listeners counted once), since-release windows, clients and countries.
func TestAudienceOnFixedClock(t *testing.T) {
	r := Build(fixture())
	one, two := r.Episodes[0], r.Episodes[1]
	if one.Starts != 8 || one.Completions != 7 || one.CompletionRate == nil || *one.CompletionRate != 0.625 {
		t.Errorf("episode one starts %d, completions %d, rate %v; want 8, 7, 0.625", one.Starts, one.Completions, one.CompletionRate)
	}
	if two.Starts != 6 || two.Completions != 6 || *two.CompletionRate != 0.8333 {
		t.Errorf("episode two starts %d, completions %d, rate %v; want 6, 6, 0.8333", two.Starts, two.Completions, *two.CompletionRate)
	}
	if got := one.UniqueListeners; got != (Windows{2, 2, 3}) {
		t.Errorf("episode one uniques = %+v, want 2/2/3", got)
	}
	if got := two.UniqueListeners; got != (Windows{1, 2, 2}) {
		t.Errorf("episode two uniques = %+v, want 1/2/2 (L4 on both torrents once)", got)
	}
	if got := r.Totals.UniqueListeners; got != (Windows{2, 3, 4}) {
		t.Errorf("feed uniques = %+v, want 2/3/4 (L1 in both episodes once)", got)
	}
	// Released 40 days ago: completions 5 and 11 days after. Episode two released 3 days
	// ago: the old torrent's 1 h, 18 h and 3 d after, the current one's 25 h and 46 h.
	if one.SinceRelease != (Windows{0, 1, 2}) || two.SinceRelease != (Windows{2, 5, 5}) ||
		r.Totals.SinceRelease != (Windows{2, 6, 7}) {
		t.Errorf("since release: one %+v, two %+v, feed %+v; want 0/1/2, 2/5/5, 2/6/7",
			one.SinceRelease, two.SinceRelease, r.Totals.SinceRelease)
	}
	if got := fmt.Sprint(r.Totals.Clients); got != "map[Transmission:2 WebTorrent:1 aria2:1 libtorrent:1 qBittorrent:2]" {
		t.Errorf("feed clients = %s", got)
	}
	if got := fmt.Sprint(r.Totals.Countries); got != "map[DE:3 FR:2 unknown:2]" {
		t.Errorf("feed countries = %s", got)
	}
	if r.Totals.Starts != 14 || *r.Totals.CompletionRate != 0.7143 {
		t.Errorf("feed starts %d, rate %v; want 14, 0.7143", r.Totals.Starts, *r.Totals.CompletionRate)
	}
	var days []string
	for _, d := range r.Daily {
		if d.UniqueListeners > 0 {
			days = append(days, fmt.Sprintf("%s:%d", d.Date, d.UniqueListeners))
		}
	}
	if got := strings.Join(days, " "); got != "2026-03-02:1 2026-03-25:1 2026-03-29:1 2026-03-30:2 2026-03-31:2" {
		t.Errorf("daily uniques = %s", got)
	}
}

// TestCompletionRateWithoutStarts: no start recorded (downloads from before starts were) is
// no rate, not an infinite or zero one.
func TestCompletionRateWithoutStarts(t *testing.T) {
	in := fixture()
	for i := range in.Episodes {
		in.Episodes[i].Audience = nil
	}
	r := Build(in)
	if r.Episodes[0].CompletionRate != nil || r.Totals.CompletionRate != nil || r.Totals.Downloads == 0 {
		t.Errorf("rates without starts = %v, %v; want none", r.Episodes[0].CompletionRate, r.Totals.CompletionRate)
	}
	if percent(nil) != "—" || rateText(nil) != "" {
		t.Error("no rate is not shown as a dash and an empty cell")
	}
}
