// Package bench holds the Go benchmarks that complement the scripts in this directory.
package bench

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
)

// BenchmarkFeedServe serves the output feed of a 500-item show from a real SQLite store through
// the publisher's routes, the path target 6 drives with wrk. Run with -cpuprofile to see where
// a request's time goes.
func BenchmarkFeedServe(b *testing.B) {
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("gzip=%v", gz), func(b *testing.B) {
			mux := feedFixture(b, 500)
			req := httptest.NewRequest(http.MethodGet, "/feeds/show.rss", nil)
			if gz {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			for b.Loop() {
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
				b.SetBytes(int64(rec.Body.Len()))
			}
		})
	}
}

func feedFixture(b *testing.B, n int) *http.ServeMux {
	ctx := b.Context()
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	f := store.Feed{Slug: "show", URL: "https://example.com/feed.xml", Title: "Bench Show",
		Link: "https://example.com/", Description: "A show for benchmarks"}
	if err := st.EnsureFeed(ctx, f.Slug, f.URL); err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	eps := make([]store.Episode, n)
	for i := range eps {
		eps[i] = store.Episode{
			FeedSlug: "show", Key: fmt.Sprintf("guid:%d", i), ItemKey: fmt.Sprintf("guid:%d", i), Position: i,
			GUID: fmt.Sprintf("urn:bench:%d", i), Title: fmt.Sprintf("Episode %d", i),
			Link:            fmt.Sprintf("https://example.com/%d", i),
			Description:     strings.Repeat("Show notes with <b>some</b> length & links. ", 12),
			Published:       t0.Add(-time.Duration(i) * 24 * time.Hour),
			Extra:           fmt.Sprintf("<itunes:duration>%d</itunes:duration>", 1800+i),
			EnclosureURL:    fmt.Sprintf("https://example.com/media/%d.mp3", i),
			EnclosureType:   "audio/mpeg",
			EnclosureLength: 4096,
		}
	}
	if err := st.SaveChannel(ctx, f, eps, t0); err != nil {
		b.Fatal(err)
	}
	for i := range eps {
		ih := fmt.Sprintf("%040x", i+1)
		err := st.Publish(ctx, "show", eps[i].Key, store.Publication{
			InfoHash: ih, TorrentPath: "torrents/" + ih + ".torrent", TorrentSize: 400,
			MediaPath: fmt.Sprintf("media/show/%d.mp3", i), MediaSize: 4096,
			SHA256: strings.Repeat("ab", 32), At: t0,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	p := publisher.New(publisher.Config{PublicURL: "http://127.0.0.1:8080", DataDir: dir}, st,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	p.Routes(mux)
	return mux
}
