// Package livestats gathers what the running gateway knows beyond its store (downloads in
// flight, swarms, the seeder's upload) for the operator's dashboard.
package livestats

import (
	"context"
	"encoding/hex"
	"slices"
	"time"

	"github.com/seedcast/seedcast/seedbox"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/tracker"
	"github.com/seedcast/seedcast/web/admin"
	"github.com/seedcast/seedcast/worker"
)

// Store is what the figures are read from.
type Store interface {
	worker.StatusStore
	Seeded(ctx context.Context, slug string) ([]store.Episode, error)
	Torrents(ctx context.Context) ([]store.Torrent, error)
	CompletionCount(ctx context.Context, infoHash string) (int64, error)
	FeedCompletions(ctx context.Context, slug string) (map[string][]time.Time, error)
	DailySeederUploads(ctx context.Context, since time.Time) (map[string]int64, error)
}

// Swarms are the tracker's figures.
type Swarms interface {
	Stats(infoHash [20]byte) (tracker.Stats, bool)
}

// Seeder is the seeding client's figures.
type Seeder interface {
	Stats() seedbox.SeederStats
}

// Stats implements admin.Live.
type Stats struct {
	st       Store
	w        *worker.Worker
	swarms   Swarms
	seeder   Seeder
	maxBytes map[string]int64 // per feed (retention), by slug
}

var _ admin.Live = (*Stats)(nil)

// New returns the figures of a running gateway; maxBytes are the feeds' max_bytes by slug.
func New(st Store, w *worker.Worker, swarms Swarms, seeder Seeder, maxBytes map[string]int64) *Stats {
	return &Stats{st: st, w: w, swarms: swarms, seeder: seeder, maxBytes: maxBytes}
}

// FeedLive is each feed's downloads, failures and seeded media.
func (s *Stats) FeedLive(ctx context.Context) (map[string]admin.FeedLive, error) {
	status, err := worker.Status(ctx, s.st, s.w)
	if err != nil {
		return nil, err
	}
	out := make(map[string]admin.FeedLive, len(status))
	for _, fs := range status {
		l := admin.FeedLive{Seeding: fs.Seeding, MaxBytes: s.maxBytes[fs.Slug]}
		for _, d := range fs.Downloading {
			l.Downloading = append(l.Downloading, admin.Download{Title: d.Title, Bytes: d.Bytes, Length: d.Length, Progress: d.Progress})
		}
		for _, f := range fs.Failed {
			l.Failed = append(l.Failed, admin.FailedEpisode{Key: f.Key, Title: f.Title, Error: f.Error})
		}
		seeded, err := s.st.Seeded(ctx, fs.Slug)
		if err != nil {
			return nil, err
		}
		for _, e := range seeded {
			l.MediaBytes += e.MediaSize
		}
		out[fs.Slug] = l
	}
	return out, nil
}

// Torrents are the newest published torrents with their swarm, downloads and upload here.
func (s *Stats) Torrents(ctx context.Context, limit int) ([]admin.TorrentRow, error) {
	ts, err := s.st.Torrents(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ts, func(a, b store.Torrent) int { return b.PublishedAt.Compare(a.PublishedAt) })
	ts = ts[:min(limit, len(ts))]
	uploaded := map[[20]byte]int64{}
	for _, t := range s.seeder.Stats().Torrents {
		uploaded[t.InfoHash] = t.BytesUploaded
	}
	out := make([]admin.TorrentRow, 0, len(ts))
	for _, t := range ts {
		var ih [20]byte
		if b, err := hex.DecodeString(t.InfoHash); err == nil && len(b) == 20 {
			copy(ih[:], b)
		}
		n, err := s.st.CompletionCount(ctx, t.InfoHash)
		if err != nil {
			return nil, err
		}
		row := admin.TorrentRow{Feed: t.FeedSlug, Title: t.Title, InfoHash: t.InfoHash, Completions: n, Uploaded: uploaded[ih]}
		if st, ok := s.swarms.Stats(ih); ok {
			row.Seeders, row.Leechers = st.Complete, st.Incomplete
		}
		out = append(out, row)
	}
	return out, nil
}

// DailyUploads are every node's seeder bytes per UTC day since since.
func (s *Stats) DailyUploads(ctx context.Context, since time.Time) (map[string]int64, error) {
	return s.st.DailySeederUploads(ctx, since)
}

// DailyCompletions counts every feed's counted downloads per UTC day since since.
func (s *Stats) DailyCompletions(ctx context.Context, since time.Time) (map[string]int64, error) {
	feeds, err := s.st.Feeds(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, f := range feeds {
		byHash, err := s.st.FeedCompletions(ctx, f.Slug)
		if err != nil {
			return nil, err
		}
		for _, times := range byHash {
			for _, at := range times {
				if !at.Before(since) {
					out[at.UTC().Format(time.DateOnly)]++
				}
			}
		}
	}
	return out, nil
}
