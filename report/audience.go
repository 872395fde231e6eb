package report

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Windows is a figure over the 24 h, 7 day and 30 day windows.
type Windows struct {
	H24 int64 `json:"24h"`
	D7  int64 `json:"7d"`
	D30 int64 `json:"30d"`
}

func (w *Windows) add(o Windows) { w.H24, w.D7, w.D30 = w.H24+o.H24, w.D7+o.D7, w.D30+o.D30 }

// ClientApps are the client apps downloads are broken down by, in the order shown (the
// tracker's ClientApp names them; see docs/MEASUREMENT.md).
var ClientApps = []string{"qBittorrent", "Transmission", "libtorrent", "aria2", "µTorrent", "WebTorrent", "other"}

// CountryUnknown is the country of downloads no GeoIP database placed.
const CountryUnknown = "unknown"

// Audience is the part of Figures that comes from the Audience rows and raw completions.
type Audience struct {
	// Completions is every plausible completion before the per-listener, per-day dedupe
	// that makes Downloads.
	Completions int64 `json:"completions"`
	// Starts is one per listener, torrent and UTC day that announced with bytes left.
	Starts int64 `json:"starts"`
	// CompletionRate is Downloads ÷ Starts; null without a start.
	CompletionRate *float64 `json:"completion_rate"`
	// Clients and Countries break the downloads counted with an Audience row down by app and
	// ISO country code.
	Clients   map[string]int64 `json:"clients"`
	Countries map[string]int64 `json:"countries"`
	// SinceRelease is the downloads in the first 24 h, 7 and 30 days after the episode's
	// release (a window not yet over holds what it has so far).
	SinceRelease Windows `json:"since_release"`
}

func newAudience() Audience {
	return Audience{Clients: map[string]int64{}, Countries: map[string]int64{}}
}

// addAudience sums o into a (the rate is recomputed by rate).
func (a *Audience) addAudience(o Audience) {
	a.Completions += o.Completions
	a.Starts += o.Starts
	for k, n := range o.Clients {
		a.Clients[k] += n
	}
	for k, n := range o.Countries {
		a.Countries[k] += n
	}
	a.SinceRelease.add(o.SinceRelease)
}

// rate sets CompletionRate from downloads, rounded to four places.
func (a *Audience) rate(downloads int64) {
	a.CompletionRate = nil
	if a.Starts > 0 {
		r := math.Round(float64(downloads)/float64(a.Starts)*10000) / 10000
		a.CompletionRate = &r
	}
}

// torrentAudience is one torrent's Audience figures: its counts up to now, and its
// completions counted against the episode's release.
func torrentAudience(v EpisodeInput, release, now time.Time) Audience {
	a := newAudience()
	a.Completions = v.CompletionEvents
	for _, c := range v.Audience {
		if d, err := time.Parse(time.DateOnly, c.Day); err != nil || d.After(now) {
			continue
		}
		switch c.Kind {
		case store.ListenStart:
			a.Starts += c.N
		case store.ListenDownload:
			a.Clients[c.Client] += c.N
			a.Countries[c.Country] += c.N
		}
	}
	if release.IsZero() {
		return a
	}
	for _, at := range v.Completions {
		if at.After(now) {
			continue
		}
		after := at.Sub(release)
		a.SinceRelease.H24 += b2i(after < Day)
		a.SinceRelease.D7 += b2i(after < Week)
		a.SinceRelease.D30 += b2i(after < Month)
	}
	return a
}

// uniques counts distinct listeners in listens over the windows ending at now; listens
// after now are left out.
func uniques(listens []store.Listen, now time.Time) Windows {
	var sets [3]map[string]bool
	for i := range sets {
		sets[i] = map[string]bool{}
	}
	for _, l := range listens {
		if l.At.After(now) {
			continue
		}
		age := now.Sub(l.At)
		for i, w := range []time.Duration{Day, Week, Month} {
			if age < w {
				sets[i][l.Listener] = true
			}
		}
	}
	return Windows{H24: int64(len(sets[0])), D7: int64(len(sets[1])), D30: int64(len(sets[2]))}
}

// dailyUniques counts distinct listeners per chart day.
func dailyUniques(listens []store.Listen, first, now time.Time) []int64 {
	sets := make([]map[string]bool, ChartDays)
	out := make([]int64, ChartDays)
	for _, l := range listens {
		if l.At.After(now) || l.At.Before(first) {
			continue
		}
		d := int(l.At.UTC().Sub(first) / Day)
		if d >= ChartDays {
			continue
		}
		if sets[d] == nil {
			sets[d] = map[string]bool{}
		}
		sets[d][l.Listener] = true
	}
	for i, s := range sets {
		out[i] = int64(len(s))
	}
	return out
}

// itemOf is the item an episode row belongs to: all its enclosures (renditions) and
// their replacements are one episode for unique listeners.
func itemOf(e store.Episode) string {
	if e.ItemKey != "" {
		return e.ItemKey
	}
	return e.Key
}

// Share is one part of a breakdown (a client app or a country) and its downloads.
type Share struct {
	Name      string
	Downloads int64
}

// sortedShares lists m's parts by downloads, most first, then by name; order (when given)
// puts its names first in its own order instead.
func sortedShares(m map[string]int64, order []string) []Share {
	var out []Share
	if order != nil {
		for _, k := range order {
			if n := m[k]; n > 0 {
				out = append(out, Share{k, n})
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !slices.Contains(order, k) && m[k] > 0 {
				out = append(out, Share{k, m[k]})
			}
		}
		return out
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] > 0 {
			out = append(out, Share{k, m[k]})
		}
	}
	slices.SortStableFunc(out, func(a, b Share) int {
		switch {
		case a.Downloads > b.Downloads:
			return -1
		case a.Downloads < b.Downloads:
			return 1
		}
		return 0
	})
	return out
}
