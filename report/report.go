// Package report turns the embedded tracker's completions and the scrape
// history of every tracker into sponsor figures, and renders them as JSON,
// CSV, a text table or an HTML page. Build is a pure function of its input
// and clock, so every figure can be reproduced and audited.
package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Windows of the rolling figures.
const (
	Day   = 24 * time.Hour
	Week  = 7 * Day
	Month = 30 * Day
	// ChartDays is the span of the daily chart, ending today (UTC).
	ChartDays = 30
)

// Report is one feed's figures at one moment.
type Report struct {
	Feed        string     `json:"feed"`
	Title       string     `json:"title"`
	GeneratedAt time.Time  `json:"generated_at"`
	Episodes    []Episode  `json:"episodes"`
	Totals      Totals     `json:"totals"`
	Daily       []DayCount `json:"daily"`
}

// Episode is one published episode's figures.
type Episode struct {
	GUID         string    `json:"guid"`
	Title        string    `json:"title"`
	Published    time.Time `json:"published"`
	InfoHash     string    `json:"info_hash"`
	Downloads    int64     `json:"downloads"`
	Downloads24h int64     `json:"downloads_24h"`
	Downloads7d  int64     `json:"downloads_7d"`
	Downloads30d int64     `json:"downloads_30d"`
	// Seeders and Leechers are the embedded tracker's last scrape (the
	// gateway's own seeder included); zero before the first scrape.
	Seeders  int64     `json:"seeders"`
	Leechers int64     `json:"leechers"`
	Trackers []Tracker `json:"trackers"`
}

// Tracker is what one tracker last said about one torrent, and how much its
// own download counter grew in each window of the scrape history.
type Tracker struct {
	URL string `json:"url"`
	// Embedded marks the gateway's own tracker, whose completions are the
	// downloads figure; every other tracker is shown beside it, never added.
	Embedded      bool      `json:"embedded"`
	Complete      int64     `json:"complete"`
	Incomplete    int64     `json:"incomplete"`
	Downloaded    int64     `json:"downloaded"`
	ScrapedAt     time.Time `json:"scraped_at"`
	Downloaded24h int64     `json:"downloaded_24h"`
	Downloaded7d  int64     `json:"downloaded_7d"`
	Downloaded30d int64     `json:"downloaded_30d"`
}

// Totals sums the feed's episodes, tracker by tracker.
type Totals struct {
	Episodes     int            `json:"episodes"`
	Downloads    int64          `json:"downloads"`
	Downloads24h int64          `json:"downloads_24h"`
	Downloads7d  int64          `json:"downloads_7d"`
	Downloads30d int64          `json:"downloads_30d"`
	Trackers     []TrackerTotal `json:"trackers"`
}

// TrackerTotal is one tracker's download counter summed over the episodes.
type TrackerTotal struct {
	URL        string `json:"url"`
	Embedded   bool   `json:"embedded"`
	Downloaded int64  `json:"downloaded"`
}

// DayCount is the number of downloads completed on one UTC day.
type DayCount struct {
	Date      string `json:"date"` // YYYY-MM-DD
	Downloads int64  `json:"downloads"`
}

// Input is everything Build needs: no I/O happens after it is gathered.
type Input struct {
	Feed     store.Feed
	Episodes []EpisodeInput
	// Embedded is the announce URL of the gateway's own tracker as it
	// appears in snapshots.
	Embedded string
	Now      time.Time
}

// EpisodeInput is one published episode with its raw measurements.
type EpisodeInput struct {
	Episode     store.Episode
	Completions []time.Time      // the embedded tracker's deduplicated completions
	Snapshots   []store.Snapshot // scrape history, at least the last Month plus each tracker's baseline
}

// Build computes the report. Completions and snapshots after Now are ignored,
// so a report for a past moment is the report that was true then.
func Build(in Input) Report {
	now := in.Now.UTC()
	r := Report{Feed: in.Feed.Slug, Title: in.Feed.Title, GeneratedAt: now, Episodes: []Episode{}}
	today := now.Truncate(Day)
	first := today.Add(-(ChartDays - 1) * Day)
	daily := make([]int64, ChartDays)
	totals := map[string]*TrackerTotal{}
	var order []string
	for _, ei := range in.Episodes {
		e := ei.Episode
		published := e.Published
		if published.IsZero() {
			published = e.PublishedAt
		}
		ep := Episode{GUID: e.GUID, Title: e.Title, Published: published.UTC(), InfoHash: e.InfoHash,
			Trackers: []Tracker{}}
		for _, c := range ei.Completions {
			if c.After(now) {
				continue
			}
			ep.Downloads++
			age := now.Sub(c)
			ep.Downloads24h += b2i(age < Day)
			ep.Downloads7d += b2i(age < Week)
			ep.Downloads30d += b2i(age < Month)
			if d := int(c.UTC().Sub(first) / Day); !c.Before(first) && d < ChartDays {
				daily[d]++
			}
		}
		for _, t := range trackerFigures(ei.Snapshots, in.Embedded, e.PublishedAt, now) {
			if t.Embedded {
				ep.Seeders, ep.Leechers = t.Complete, t.Incomplete
			}
			ep.Trackers = append(ep.Trackers, t)
			tt := totals[t.URL]
			if tt == nil {
				tt = &TrackerTotal{URL: t.URL, Embedded: t.Embedded}
				totals[t.URL] = tt
				order = append(order, t.URL)
			}
			tt.Downloaded += t.Downloaded
		}
		r.Episodes = append(r.Episodes, ep)
		r.Totals.Episodes++
		r.Totals.Downloads += ep.Downloads
		r.Totals.Downloads24h += ep.Downloads24h
		r.Totals.Downloads7d += ep.Downloads7d
		r.Totals.Downloads30d += ep.Downloads30d
	}
	r.Totals.Trackers = []TrackerTotal{}
	for _, u := range sortTrackers(order, in.Embedded) {
		r.Totals.Trackers = append(r.Totals.Trackers, *totals[u])
	}
	for i, n := range daily {
		r.Daily = append(r.Daily, DayCount{Date: first.Add(time.Duration(i) * Day).Format(time.DateOnly), Downloads: n})
	}
	return r
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// sortTrackers puts the embedded tracker first, then the rest by URL.
func sortTrackers(urls []string, embedded string) []string {
	out := slices.Clone(urls)
	slices.SortFunc(out, func(a, b string) int {
		switch {
		case a == embedded:
			return -1
		case b == embedded:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

// trackerFigures reduces a torrent's scrape history to one row per tracker.
func trackerFigures(snaps []store.Snapshot, embedded string, publishedAt, now time.Time) []Tracker {
	byTracker := map[string][]store.Snapshot{}
	var urls []string
	for _, s := range snaps {
		if s.At.After(now) {
			continue
		}
		if _, ok := byTracker[s.Tracker]; !ok {
			urls = append(urls, s.Tracker)
		}
		byTracker[s.Tracker] = append(byTracker[s.Tracker], s)
	}
	var out []Tracker
	for _, u := range sortTrackers(urls, embedded) {
		h := byTracker[u]
		slices.SortStableFunc(h, func(a, b store.Snapshot) int { return a.At.Compare(b.At) })
		last := h[len(h)-1]
		out = append(out, Tracker{
			URL: u, Embedded: u == embedded,
			Complete: last.Complete, Incomplete: last.Incomplete, Downloaded: last.Downloaded,
			ScrapedAt:     last.At.UTC(),
			Downloaded24h: Increase(h, now.Add(-Day), now, publishedAt),
			Downloaded7d:  Increase(h, now.Add(-Week), now, publishedAt),
			Downloaded30d: Increase(h, now.Add(-Month), now, publishedAt),
		})
	}
	return out
}

// Increase is how much a tracker's download counter grew between from and
// to, from its snapshots (oldest first). The baseline is the last snapshot at
// or before from; without one, zero if the torrent was published at or after
// from (nothing could have been downloaded earlier), else the first snapshot
// in the window, which makes the figure a lower bound. A counter that goes
// down was reset (trackers like opentracker keep counts in memory): the
// growth after a reset is counted from zero, never negative.
func Increase(snaps []store.Snapshot, from, to, publishedAt time.Time) int64 {
	var prev int64
	havePrev := false
	if !publishedAt.IsZero() && !publishedAt.Before(from) {
		havePrev = true
	}
	var sum int64
	for _, s := range snaps {
		if s.At.After(to) {
			break
		}
		if !s.At.After(from) {
			prev, havePrev = s.Downloaded, true
			continue
		}
		if havePrev {
			if s.Downloaded >= prev {
				sum += s.Downloaded - prev
			} else {
				sum += s.Downloaded
			}
		}
		prev, havePrev = s.Downloaded, true
	}
	return sum
}

// Source is the store as the report reads it.
type Source interface {
	Feed(ctx context.Context, slug string) (store.Feed, error)
	Published(ctx context.Context, slug string) ([]store.Episode, error)
	Completions(ctx context.Context, infoHash string) ([]time.Time, error)
	SnapshotsSince(ctx context.Context, infoHash string, since time.Time) ([]store.Snapshot, error)
}

var _ Source = (*store.SQLite)(nil)

// Load gathers a feed's measurements from src and builds its report.
func Load(ctx context.Context, src Source, slug, embedded string, now time.Time) (Report, error) {
	f, err := src.Feed(ctx, slug)
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	eps, err := src.Published(ctx, slug)
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	in := Input{Feed: f, Embedded: embedded, Now: now}
	for _, e := range eps {
		ei := EpisodeInput{Episode: e}
		if ei.Completions, err = src.Completions(ctx, e.InfoHash); err != nil {
			return Report{}, fmt.Errorf("report: %w", err)
		}
		if ei.Snapshots, err = src.SnapshotsSince(ctx, e.InfoHash, now.Add(-Month)); err != nil {
			return Report{}, fmt.Errorf("report: %w", err)
		}
		in.Episodes = append(in.Episodes, ei)
	}
	return Build(in), nil
}
