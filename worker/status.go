package worker

import (
	"context"
	"os"
	"sort"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
)

// StatusStore is what the status report reads.
type StatusStore interface {
	Feeds(ctx context.Context) ([]store.Feed, error)
	StateCounts(ctx context.Context, slug string) (map[string]int, error)
	Failed(ctx context.Context, slug string) ([]store.Episode, error)
}

// FeedStatus is one feed's health, in words an operator can act on.
type FeedStatus struct {
	Slug        string           `json:"slug"`
	URL         string           `json:"url"`
	Title       string           `json:"title"`
	LastPollAt  *time.Time       `json:"last_poll_at"`
	LastOKAt    *time.Time       `json:"last_ok_at"`
	LastError   string           `json:"last_error"`
	Warning     string           `json:"warning,omitempty"` // what the last good poll left out
	Pending     int              `json:"pending"`
	Downloading []DownloadStatus `json:"downloading"`
	Seeding     int              `json:"seeding"`
	Failed      []FailedEpisode  `json:"failed"`
	Counts      map[string]int   `json:"counts"`
	PolledBy    string           `json:"polled_by"` // the node that polls it (or last did)
}

// DownloadStatus is an enclosure being fetched right now.
type DownloadStatus struct {
	Title    string    `json:"title"`
	URL      string    `json:"url"`
	Bytes    int64     `json:"bytes"`
	Length   int64     `json:"length"` // as the feed declared it; 0 when unknown
	Progress float64   `json:"progress"`
	Started  time.Time `json:"started"`
}

// FailedEpisode is an episode whose last download failed, and why.
type FailedEpisode struct {
	Key   string `json:"key"` // to retry it by (POST /api/v1/feeds/{slug}/retry)
	Title string `json:"title"`
	URL   string `json:"url"`
	Error string `json:"error"`
}

// Status reports every feed. Downloads in progress are known only to a
// running worker; a status built from the store alone shows none.
func Status(ctx context.Context, st StatusStore, w *Worker) ([]FeedStatus, error) {
	feeds, err := st.Feeds(ctx)
	if err != nil {
		return nil, err
	}
	var active []*activeDownload
	if w != nil {
		w.mu.Lock()
		for _, a := range w.active {
			cp := *a
			active = append(active, &cp)
		}
		w.mu.Unlock()
		sort.Slice(active, func(i, j int) bool { return active[i].Started.Before(active[j].Started) })
	}
	out := make([]FeedStatus, 0, len(feeds))
	for _, f := range feeds {
		counts, err := st.StateCounts(ctx, f.Slug)
		if err != nil {
			return nil, err
		}
		fs := FeedStatus{Slug: f.Slug, URL: safehttp.RedactURL(f.URL), Title: f.Title, LastError: f.LastError, Warning: f.Warning,
			LastPollAt: timePtr(f.LastPollAt), LastOKAt: timePtr(f.LastOKAt), Counts: counts, PolledBy: f.PolledBy,
			Seeding: counts[store.StatePublished], Downloading: []DownloadStatus{}, Failed: []FailedEpisode{}}
		for _, a := range active {
			if a.Feed != f.Slug {
				continue
			}
			d := DownloadStatus{Title: a.Title, URL: safehttp.RedactURL(a.URL), Length: a.Length, Started: a.Started}
			if fi, err := os.Stat(a.PartPath); err == nil {
				d.Bytes = fi.Size()
			}
			if a.Length > 0 {
				d.Progress = min(1, float64(d.Bytes)/float64(a.Length))
			}
			fs.Downloading = append(fs.Downloading, d)
		}
		fs.Pending = counts[store.StatePending] - len(fs.Downloading)
		if fs.Pending < 0 {
			fs.Pending = 0
		}
		failed, err := st.Failed(ctx, f.Slug)
		if err != nil {
			return nil, err
		}
		for _, e := range failed {
			fs.Failed = append(fs.Failed, FailedEpisode{Key: e.Key, Title: e.Title, URL: safehttp.RedactURL(e.EnclosureURL), Error: e.Error})
		}
		out = append(out, fs)
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
