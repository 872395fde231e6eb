package admin

import (
	"context"
	"sync"
	"time"
)

// Live is what only the running gateway knows: downloads in flight, swarms, the seeder's upload.
type Live interface {
	// FeedLive is each feed's downloads, failed episodes and seeded media, by slug.
	FeedLive(ctx context.Context) (map[string]FeedLive, error)
	// Torrents are the published torrents with their swarm and seeder figures, newest first, at
	// most limit.
	Torrents(ctx context.Context, limit int) ([]TorrentRow, error)
	// DailyCompletions are counted downloads per UTC day (keyed "2006-01-02"), every feed.
	DailyCompletions(ctx context.Context, since time.Time) (map[string]int64, error)
	// DailyUploads are the bytes every node's seeder uploaded per UTC day.
	DailyUploads(ctx context.Context, since time.Time) (map[string]int64, error)
}

// FeedLive is one feed's work in progress and what it seeds.
type FeedLive struct {
	Downloading []Download
	Failed      []FailedEpisode
	Seeding     int   // torrents
	MediaBytes  int64 // of the media it seeds
	MaxBytes    int64 // its max_bytes (0: no cap)
}

// Download is an enclosure being fetched.
type Download struct {
	Title    string
	Bytes    int64
	Length   int64   // 0: unknown
	Progress float64 // 0 to 1
}

// FailedEpisode is an episode whose download failed, with the key to retry it by.
type FailedEpisode struct {
	Key, Title, Error string
}

// TorrentRow is one published torrent.
type TorrentRow struct {
	Feed, Title, InfoHash string
	Seeders, Leechers     int64
	Completions           int64 // counted downloads
	Uploaded              int64 // piece bytes this node's seeder sent (since it started seeding it)
	Rate                  float64
}

// rates turns the seeder's upload totals into rates between two views of the dashboard.
type rates struct {
	mu   sync.Mutex
	at   time.Time
	last map[string]int64
}

// update sets each row's Rate from its Uploaded since the previous call (bytes per second).
func (r *rates) update(rows []TorrentRow, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := make(map[string]int64, len(rows))
	dt := now.Sub(r.at).Seconds()
	for i := range rows {
		next[rows[i].InfoHash] = rows[i].Uploaded
		if prev, ok := r.last[rows[i].InfoHash]; ok && dt > 0 && rows[i].Uploaded >= prev {
			rows[i].Rate = float64(rows[i].Uploaded-prev) / dt
		}
	}
	r.at, r.last = now, next
}
