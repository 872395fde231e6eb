package worker

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/seedcast/seedcast/store"
)

// cdnOrigin serves a feed of three episodes whose media answer with a new
// ETag on every request, as a CDN with per-node ETags does. The feed itself
// has no validators, so every poll parses it and re-checks the enclosures.
type cdnOrigin struct {
	srv          *httptest.Server
	lastModified string // "" = no Last-Modified header
	mu           sync.Mutex
	bodies       map[string]string
	n            atomic.Int64 // ETag counter
	gets         atomic.Int64 // media GETs
}

func newCDNOrigin(t *testing.T, lastModified string) *cdnOrigin {
	t.Helper()
	o := &cdnOrigin{lastModified: lastModified, bodies: map[string]string{}}
	for i := 1; i <= 3; i++ {
		o.bodies[fmt.Sprintf("/ep%d.mp3", i)] = strings.Repeat(fmt.Sprint(i), 300000)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<rss version="2.0"><channel><title>CDN</title>`)
		for i := 3; i >= 1; i-- {
			fmt.Fprintf(w, `<item><guid>g%d</guid><title>T%d</title><enclosure url="%s/ep%d.mp3" length="300000" type="audio/mpeg"/></item>`,
				i, i, o.srv.URL, i)
		}
		fmt.Fprint(w, `</channel></rss>`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		body, ok := o.bodies[r.URL.Path]
		o.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := fmt.Sprintf(`"node-%d"`, o.n.Add(1))
		w.Header().Set("ETag", etag)
		if o.lastModified != "" {
			w.Header().Set("Last-Modified", o.lastModified)
		}
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method == http.MethodGet {
			o.gets.Add(1)
			w.Write([]byte(body))
		}
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *cdnOrigin) replace(path, body string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bodies[path] = body
}

// diskUsage sums the sizes of the files under dir.
func diskUsage(t *testing.T, dir string) (files int, bytes int64) {
	t.Helper()
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files++
			bytes += fi.Size()
		}
		return nil
	})
	return files, bytes
}

// A new ETag on every request, with the same bytes, makes no new torrent:
// after several polls there is exactly one torrent per episode, the media and
// torrents on disk and the feed's version are unchanged.
func TestChangingETagWithSameBytesKeepsTheTorrent(t *testing.T) {
	for _, c := range []struct {
		name         string
		lastModified string
		wantGets     int64 // media GETs after the first poll's three
	}{
		// Nothing but the ETag to go by: each poll downloads again to compare the bytes.
		{"etag only", "", 3 * 4},
		// The same Last-Modified and length: a new ETag alone is not taken for a change.
		{"etag and last-modified", "Wed, 01 May 2024 12:00:00 GMT", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			o := newCDNOrigin(t, c.lastModified)
			w, st, dir := newTestWorker(t)
			f := Feed{Slug: "cdn", URL: o.srv.URL + "/feed.xml"}
			if err := w.Poll(ctx, f); err != nil {
				t.Fatal(err)
			}
			first, _ := st.Published(ctx, "cdn")
			version, _ := st.FeedVersion(ctx, "cdn")
			mediaFiles, mediaBytes := diskUsage(t, filepath.Join(dir, "media"))
			torrentFiles, _ := diskUsage(t, filepath.Join(dir, "torrents"))
			if len(first) != 3 || mediaFiles != 3 || torrentFiles != 3 {
				t.Fatalf("first poll: %d published, %d media, %d torrents; want 3 each", len(first), mediaFiles, torrentFiles)
			}
			for range 4 {
				if err := w.Poll(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			if got := o.gets.Load() - 3; got != c.wantGets {
				t.Fatalf("%d media GETs after the first poll, want %d", got, c.wantGets)
			}
			ts, _ := st.Torrents(ctx)
			if len(ts) != 3 {
				t.Fatalf("%d torrents after 5 polls of 3 episodes whose bytes never changed: %+v", len(ts), ts)
			}
			now, _ := st.Published(ctx, "cdn")
			for i := range now {
				if now[i].InfoHash != first[i].InfoHash {
					t.Fatalf("episode %s: torrent %s -> %s", now[i].Key, first[i].InfoHash, now[i].InfoHash)
				}
			}
			if files, bytes := diskUsage(t, filepath.Join(dir, "media")); files != mediaFiles || bytes != mediaBytes {
				t.Fatalf("media on disk: %d files %d bytes, was %d files %d bytes", files, bytes, mediaFiles, mediaBytes)
			}
			if files, _ := diskUsage(t, filepath.Join(dir, "torrents")); files != torrentFiles {
				t.Fatalf("%d .torrent files, was %d", files, torrentFiles)
			}
			if v, _ := st.FeedVersion(ctx, "cdn"); v != version {
				t.Fatalf("feed version %d -> %d: the output feed changed", version, v)
			}
			if c.lastModified == "" {
				// The validators of the last download are kept.
				if e, _ := st.Episode(ctx, "cdn", "guid:g1"); e.MediaETag == first[2].MediaETag {
					t.Fatalf("validators not updated: ETag still %s", e.MediaETag)
				}
			}
		})
	}
}

// Changed bytes behind a new ETag still make a new torrent: the old one is
// superseded and keeps seeding, and the episode never leaves the feed.
func TestChangingETagWithNewBytesSupersedes(t *testing.T) {
	ctx := t.Context()
	o := newCDNOrigin(t, "")
	w, st, _ := newTestWorker(t)
	f := Feed{Slug: "cdn", URL: o.srv.URL + "/feed.xml"}
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	old, _ := st.Episode(ctx, "cdn", "guid:g2")
	version, _ := st.FeedVersion(ctx, "cdn")
	o.replace("/ep2.mp3", strings.Repeat("X", 300000)) // same length, new bytes
	if err := w.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	now, err := st.Episode(ctx, "cdn", "guid:g2")
	if err != nil || now.State != store.StatePublished || now.InfoHash == old.InfoHash || now.SHA256 == old.SHA256 {
		t.Fatalf("changed bytes: episode %+v, %v; want a new torrent", now, err)
	}
	if now.MediaPath == old.MediaPath {
		t.Fatalf("the new version overwrote the seeded file %s", old.MediaPath)
	}
	superseded, err := st.Episode(ctx, "cdn", "guid:g2@"+old.InfoHash)
	if err != nil || superseded.State != store.StateSuperseded || superseded.MediaPath != old.MediaPath {
		t.Fatalf("old version: %+v, %v; want it superseded with its file", superseded, err)
	}
	ts, _ := st.Torrents(ctx)
	if len(ts) != 4 {
		t.Fatalf("%d torrents, want 4 (three current, one superseded still seeding)", len(ts))
	}
	if pub, _ := st.Published(ctx, "cdn"); len(pub) != 3 {
		t.Fatalf("%d published, want 3", len(pub))
	}
	if v, _ := st.FeedVersion(ctx, "cdn"); v == version {
		t.Fatal("a new torrent must change the output feed's version")
	}
	// And it stays that way: the next polls find the same (new) bytes.
	for range 2 {
		if err := w.Poll(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if ts, _ := st.Torrents(ctx); len(ts) != 4 {
		t.Fatalf("%d torrents after two more polls, want 4", len(ts))
	}
}
