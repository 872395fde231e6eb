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
	Feed        string    `json:"feed"`
	Title       string    `json:"title"`
	GeneratedAt time.Time `json:"generated_at"`
	Episodes    []Episode `json:"episodes"`
	Totals      Totals    `json:"totals"`
	// Bandwidth is the feed's: every episode's torrents summed, priced at Input.CostPerGB.
	Bandwidth FeedBandwidth `json:"bandwidth"`
	Daily     []DayCount    `json:"daily"`
}

// Episode is one episode's figures: the sum of every torrent it has had. An
// episode whose enclosure changed has a new torrent and keeps its old ones
// (superseded), whose completions still count.
type Episode struct {
	GUID      string    `json:"guid"`
	Title     string    `json:"title"`
	Published time.Time `json:"published"`
	// InfoHash is the current torrent's (the newest, if every one was superseded).
	InfoHash string `json:"info_hash"`
	Figures
	// Torrents are the episode's torrents, current first, then the
	// superseded ones, newest first; their figures add up to the episode's.
	Torrents []Torrent `json:"torrents"`
	// UniqueListeners counts distinct listeners of the whole item: every enclosure
	// (rendition) and replaced torrent of it, so an item's several rows show the same figure.
	UniqueListeners Windows `json:"unique_listeners"`
}

// Figures are the counts of one torrent, or their sums over an episode's
// torrents.
type Figures struct {
	Downloads    int64 `json:"downloads"`
	Downloads24h int64 `json:"downloads_24h"`
	Downloads7d  int64 `json:"downloads_7d"`
	Downloads30d int64 `json:"downloads_30d"`
	// Seeders and Leechers are the embedded tracker's last scrape (the
	// gateway's own seeder included); zero before the first scrape.
	Seeders  int64 `json:"seeders"`
	Leechers int64 `json:"leechers"`
	Audience
	// Trackers are summed tracker by tracker over an episode's torrents (the
	// latest scrape time shown), never across trackers.
	Trackers []Tracker `json:"trackers"`
	// Bandwidth is who carried the downloads (all time, whatever the windows).
	Bandwidth Bandwidth `json:"bandwidth"`
}

// Torrent states in a report.
const (
	TorrentCurrent    = "current"    // the torrent the output feed lists (or would, once listed again)
	TorrentSuperseded = "superseded" // replaced by a newer torrent of the same episode
)

// Torrent is one torrent an episode has had and its own figures.
type Torrent struct {
	InfoHash    string    `json:"info_hash"`
	State       string    `json:"state"`
	PublishedAt time.Time `json:"published_at"`
	// EvictedAt is when retention removed the media from this gateway;
	// absent while it seeds it. Its completions count all the same.
	EvictedAt time.Time `json:"evicted_at,omitzero"`
	Figures
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
	Episodes     int   `json:"episodes"`
	Downloads    int64 `json:"downloads"`
	Downloads24h int64 `json:"downloads_24h"`
	Downloads7d  int64 `json:"downloads_7d"`
	Downloads30d int64 `json:"downloads_30d"`
	Audience
	// UniqueListeners counts distinct listeners across the feed (not a sum of episodes').
	UniqueListeners Windows        `json:"unique_listeners"`
	Trackers        []TrackerTotal `json:"trackers"`
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
	// UniqueListeners is the distinct listeners with a download that day, across the feed.
	UniqueListeners int64 `json:"unique_listeners"`
}

// Input is everything Build needs: no I/O happens after it is gathered.
type Input struct {
	Feed     store.Feed
	Episodes []EpisodeInput
	// Embedded is the announce URL of the gateway's own tracker as it
	// appears in snapshots.
	Embedded string
	// CostPerGB prices the bytes listeners carried (audience.cost_per_gb).
	CostPerGB float64
	Now       time.Time
}

// EpisodeInput is one torrent of an episode (a store row: the current one
// or a superseded one) with its raw measurements. Rows with the same ItemKey
// and EnclosureIndex are one episode.
type EpisodeInput struct {
	Episode     store.Episode
	Completions []time.Time      // the embedded tracker's deduplicated completions
	Snapshots   []store.Snapshot // scrape history, at least the last Month plus each tracker's baseline
	// CompletionEvents is the raw completions (before the per-listener, per-day dedupe).
	CompletionEvents int64
	// Audience is the torrent's start and download counts by day, client and country.
	Audience []store.AudienceCount
	// Listens is the torrent's download listens of at least the last Month.
	Listens []store.Listen
	// SeedboxBytes are what the gateway's seeders uploaded of this torrent, every node summed.
	SeedboxBytes int64
}

// Build computes the report. Completions and snapshots after Now are ignored,
// so a report for a past moment is the report that was true then.
func Build(in Input) Report {
	now := in.Now.UTC()
	r := Report{Feed: in.Feed.Slug, Title: in.Feed.Title, GeneratedAt: now, Episodes: []Episode{}}
	r.Totals.Audience = newAudience()
	byItem := map[string][]store.Listen{}
	var all []store.Listen
	today := now.Truncate(Day)
	c := counter{now: now, first: today.Add(-(ChartDays - 1) * Day), daily: make([]int64, ChartDays), embedded: in.Embedded}
	totals := map[string]*TrackerTotal{}
	var order []string
	groups := versions(in.Episodes)
	for _, g := range groups {
		for _, v := range g {
			byItem[itemOf(g[0].Episode)] = append(byItem[itemOf(g[0].Episode)], v.Listens...)
			all = append(all, v.Listens...)
		}
	}
	var feed Bandwidth
	for _, g := range groups {
		ep := c.episode(g)
		ep.UniqueListeners = uniques(byItem[itemOf(g[0].Episode)], now)
		r.Totals.addAudience(ep.Audience)
		feed.add(ep.Bandwidth)
		for _, t := range ep.Trackers {
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
	r.Totals.rate(r.Totals.Downloads)
	r.Totals.UniqueListeners = uniques(all, now)
	r.Bandwidth = feedBandwidth(feed, in.CostPerGB)
	r.Totals.Trackers = []TrackerTotal{}
	for _, u := range sortTrackers(order, in.Embedded) {
		r.Totals.Trackers = append(r.Totals.Trackers, *totals[u])
	}
	du := dailyUniques(all, c.first, now)
	for i, n := range c.daily {
		r.Daily = append(r.Daily, DayCount{Date: c.first.Add(time.Duration(i) * Day).Format(time.DateOnly),
			Downloads: n, UniqueListeners: du[i]})
	}
	return r
}

// versions groups the rows by episode (ItemKey, else Key, and
// EnclosureIndex), each group's current row first and then the superseded
// ones, newest first; groups in source order of their first row. A torrent
// listed twice (the same bytes published again) is kept once, in its first
// place, so no completion is counted twice.
func versions(rows []EpisodeInput) [][]EpisodeInput {
	type identity struct {
		item  string
		index int
	}
	at := map[identity]int{}
	var groups [][]EpisodeInput
	for _, r := range rows {
		id := identity{r.Episode.ItemKey, r.Episode.EnclosureIndex}
		if id.item == "" {
			id.item = r.Episode.Key
		}
		i, ok := at[id]
		if !ok {
			i = len(groups)
			at[id] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	for _, g := range groups {
		slices.SortStableFunc(g, func(a, b EpisodeInput) int {
			sa, sb := a.Episode.State == store.StateSuperseded, b.Episode.State == store.StateSuperseded
			if sa != sb {
				return int(b2i(sa) - b2i(sb))
			}
			return b.Episode.PublishedAt.Compare(a.Episode.PublishedAt)
		})
	}
	// A superseded row keeps the position it had when it was replaced: the
	// current row places the episode.
	slices.SortStableFunc(groups, func(a, b []EpisodeInput) int {
		if c := a[0].Episode.Position - b[0].Episode.Position; c != 0 {
			return c
		}
		return a[0].Episode.EnclosureIndex - b[0].Episode.EnclosureIndex
	})
	seen := map[string]bool{}
	for i, g := range groups {
		groups[i] = slices.DeleteFunc(g, func(r EpisodeInput) bool {
			h := r.Episode.InfoHash
			dup := h != "" && seen[h]
			seen[h] = true
			return dup
		})
	}
	return groups
}

// counter adds completions to the daily chart while it builds figures.
type counter struct {
	now, first time.Time
	daily      []int64
	embedded   string
}

// episode sums the figures of one episode's torrents (current first).
func (c *counter) episode(g []EpisodeInput) Episode {
	e := g[0].Episode
	published := e.Published
	if published.IsZero() {
		published = e.PublishedAt
	}
	ep := Episode{GUID: e.GUID, Title: e.Title, Published: published.UTC(), InfoHash: e.InfoHash,
		Figures: Figures{Trackers: []Tracker{}, Audience: newAudience()}, Torrents: []Torrent{}}
	for _, v := range g {
		if v.Episode.InfoHash == "" {
			continue // an item without an enclosure has no torrent
		}
		t := c.torrent(v, published)
		ep.add(t.Figures)
		ep.Torrents = append(ep.Torrents, t)
	}
	slices.SortStableFunc(ep.Trackers, func(a, b Tracker) int { return compareTrackers(a.URL, b.URL, c.embedded) })
	ep.rate(ep.Downloads)
	return ep
}

// torrent is one torrent's own figures; release is its episode's.
func (c *counter) torrent(v EpisodeInput, release time.Time) Torrent {
	e := v.Episode
	t := Torrent{InfoHash: e.InfoHash, State: TorrentCurrent, PublishedAt: e.PublishedAt.UTC(),
		EvictedAt: e.EvictedAt.UTC(), Figures: Figures{Trackers: []Tracker{}}}
	if e.State == store.StateSuperseded {
		t.State = TorrentSuperseded
	}
	for _, at := range v.Completions {
		if at.After(c.now) {
			continue
		}
		t.Downloads++
		age := c.now.Sub(at)
		t.Downloads24h += b2i(age < Day)
		t.Downloads7d += b2i(age < Week)
		t.Downloads30d += b2i(age < Month)
		if d := int(at.UTC().Sub(c.first) / Day); !at.Before(c.first) && d < ChartDays {
			c.daily[d]++
		}
	}
	t.Audience = torrentAudience(v, release, c.now)
	t.rate(t.Downloads)
	// The media's size (as seeded) per counted download: the bytes a complete download took.
	t.Bandwidth = newBandwidth(v.SeedboxBytes, e.MediaSize*t.Downloads)
	for _, tr := range trackerFigures(v.Snapshots, c.embedded, e.PublishedAt, c.now) {
		if tr.Embedded {
			t.Seeders, t.Leechers = tr.Complete, tr.Incomplete
		}
		t.Trackers = append(t.Trackers, tr)
	}
	return t
}

// add sums o into f, tracker by tracker.
func (f *Figures) add(o Figures) {
	f.Downloads += o.Downloads
	f.Downloads24h += o.Downloads24h
	f.Downloads7d += o.Downloads7d
	f.Downloads30d += o.Downloads30d
	f.Seeders += o.Seeders
	f.Leechers += o.Leechers
	f.addAudience(o.Audience)
	f.Bandwidth.add(o.Bandwidth)
	for _, t := range o.Trackers {
		i := slices.IndexFunc(f.Trackers, func(x Tracker) bool { return x.URL == t.URL })
		if i < 0 {
			f.Trackers = append(f.Trackers, t)
			continue
		}
		x := &f.Trackers[i]
		x.Complete += t.Complete
		x.Incomplete += t.Incomplete
		x.Downloaded += t.Downloaded
		x.Downloaded24h += t.Downloaded24h
		x.Downloaded7d += t.Downloaded7d
		x.Downloaded30d += t.Downloaded30d
		if t.ScrapedAt.After(x.ScrapedAt) {
			x.ScrapedAt = t.ScrapedAt
		}
	}
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
	slices.SortFunc(out, func(a, b string) int { return compareTrackers(a, b, embedded) })
	return out
}

func compareTrackers(a, b, embedded string) int {
	switch {
	case a == b:
		return 0
	case a == embedded:
		return -1
	case b == embedded:
		return 1
	}
	return strings.Compare(a, b)
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
	Reported(ctx context.Context, slug string) ([]store.Episode, error)
	FeedCompletions(ctx context.Context, slug string) (map[string][]time.Time, error)
	FeedSnapshotsSince(ctx context.Context, slug string, since time.Time) (map[string][]store.Snapshot, error)
	FeedCompletionEvents(ctx context.Context, slug string) (map[string]int64, error)
	FeedAudienceCounts(ctx context.Context, slug string) (map[string][]store.AudienceCount, error)
	FeedListens(ctx context.Context, slug string, since time.Time) (map[string][]store.Listen, error)
	FeedSeederUploads(ctx context.Context, slug string) (map[string]int64, error)
}

var _ Source = store.Store(nil)

// Load gathers a feed's measurements from src and builds its report; costPerGB prices the
// bytes listeners carried.
func Load(ctx context.Context, src Source, slug, embedded string, costPerGB float64, now time.Time) (Report, error) {
	f, err := src.Feed(ctx, slug)
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	eps, err := src.Reported(ctx, slug)
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	// Two queries for the whole feed, not two per episode: each is a round trip to PostgreSQL.
	completions, err := src.FeedCompletions(ctx, slug)
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	snapshots, err := src.FeedSnapshotsSince(ctx, slug, now.Add(-Month))
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	events, err := src.FeedCompletionEvents(ctx, slug)
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	counts, err := src.FeedAudienceCounts(ctx, slug)
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	// The 30-day window starts before the chart's first day (29 whole days and today).
	listens, err := src.FeedListens(ctx, slug, now.Add(-Month))
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	uploads, err := src.FeedSeederUploads(ctx, slug)
	if err != nil {
		return Report{}, fmt.Errorf("report: %w", err)
	}
	in := Input{Feed: f, Embedded: embedded, CostPerGB: costPerGB, Now: now}
	for _, e := range eps {
		in.Episodes = append(in.Episodes, EpisodeInput{Episode: e,
			Completions: completions[e.InfoHash], Snapshots: snapshots[e.InfoHash],
			CompletionEvents: events[e.InfoHash], Audience: counts[e.InfoHash], Listens: listens[e.InfoHash],
			SeedboxBytes: uploads[e.InfoHash]})
	}
	return Build(in), nil
}
