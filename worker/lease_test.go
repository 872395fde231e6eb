package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
)

// Two nodes on one store: while node a downloads a feed's episode (and keeps renewing its lease
// past several lease lifetimes), node b's polls of the feed are skipped, so the origin sees one
// download; once a is done, b polls the feed again and downloads nothing.
func TestFeedPolledByOneNodeAtATime(t *testing.T) {
	ctx := context.Background()
	body := strings.Repeat("lease", 100000)
	var srvURL string
	var gets atomic.Int32
	stalled, unstall := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>L</title><item><guid>l1</guid><title>L1</title>
<enclosure url="%s/l1.mp3" length="%d" type="audio/mpeg"/></item></channel></rss>`, srvURL, len(body))
	})
	mux.HandleFunc("/l1.mp3", func(w http.ResponseWriter, r *http.Request) {
		if gets.Add(1) == 1 {
			w.Write([]byte(body[:1000]))
			w.(http.Flusher).Flush()
			close(stalled)
			select {
			case <-unstall:
			case <-r.Context().Done():
				return
			}
			w.Write([]byte(body[1000:]))
			return
		}
		w.Write([]byte(body))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL

	dir := t.TempDir()
	node := func(name string) (*Worker, store.Store) {
		st, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		c := safehttp.NewClient(safehttp.Options{AllowPrivate: true})
		cfg := Config{DataDir: filepath.Join(dir, name), AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}},
			NodeName: name, LeaseTTL: 900 * time.Millisecond}
		return New(cfg, st, Clients{Feed: c, Media: c, MaxFeed: 1 << 20}, nil, nil, slog.New(slog.DiscardHandler)), st
	}
	a, st := node("a")
	b, _ := node("b")
	f := Feed{Slug: "l", URL: srv.URL + "/feed.xml"}

	done := make(chan error, 1)
	go func() { done <- a.Poll(ctx, f) }()
	select {
	case <-stalled:
	case err := <-done:
		t.Fatalf("a's poll ended before its download stalled: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("a's download never started")
	}
	// Three lease lifetimes: a renews every third of one, so b never gets the feed.
	for start := time.Now(); time.Since(start) < 3*a.cfg.LeaseTTL; {
		if err := b.Poll(ctx, f); err != nil {
			t.Fatal(err)
		}
		if n := gets.Load(); n != 1 {
			t.Fatalf("b polled the feed a holds: %d downloads", n)
		}
		time.Sleep(50 * time.Millisecond) // pacing only: the assertion is the count above
	}
	if fd, err := st.Feed(ctx, "l"); err != nil || fd.PolledBy != "a" {
		t.Fatalf("polled by = %q, %v; want a", fd.PolledBy, err)
	}
	close(unstall)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if e, _ := st.Episode(ctx, "l", "guid:l1"); e.State != store.StatePublished {
		t.Fatalf("after a's poll: %s, want published", e.State)
	}
	if err := b.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if fd, _ := st.Feed(ctx, "l"); fd.PolledBy != "b" || gets.Load() != 1 {
		t.Fatalf("after b's poll: polled by %q, %d downloads; want b and still 1", fd.PolledBy, gets.Load())
	}
}

// A node that stopped renewing (dead) loses the lease once it expires, and the node that takes
// it over makes the other's renewal fail, which stops the other's poll.
func TestLostLeaseStopsThePoll(t *testing.T) {
	ctx := context.Background()
	var srvURL string
	stalled := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>L</title><item><guid>l1</guid><title>L1</title>
<enclosure url="%s/l1.mp3" length="100000" type="audio/mpeg"/></item></channel></rss>`, srvURL)
	})
	mux.HandleFunc("/l1.mp3", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("x"))
		w.(http.Flusher).Flush()
		close(stalled)
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	srvURL = srv.URL
	w, st, _ := newStallWorker(t, Config{NodeName: "a", LeaseTTL: 600 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- w.Poll(ctx, Feed{Slug: "l", URL: srv.URL + "/feed.xml"}) }()
	<-stalled
	// Node b, whose clock says a's lease ran out long ago, takes it over.
	later := time.Now().Add(time.Hour)
	if ok, err := st.LeaseFeed(ctx, "l", "b", later, later.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("b's takeover = %v, %v", ok, err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a's poll succeeded after losing its lease")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a's poll went on after losing its lease")
	}
	if e, _ := st.Episode(ctx, "l", "guid:l1"); e.State == store.StatePublished {
		t.Fatal("a published an episode of a feed it no longer held")
	}
	if fd, _ := st.Feed(ctx, "l"); fd.PolledBy != "b" {
		t.Fatalf("polled by %q after the takeover, want b", fd.PolledBy)
	}
}

// Every node's schedule fires, but the origin sees one poll per interval: a node skips a feed
// another node polled within MinGap; its own last poll never makes it skip.
func TestPollSkippedWhenAnotherNodePolledRecently(t *testing.T) {
	ctx := context.Background()
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		fmt.Fprint(w, `<rss version="2.0"><channel><title>G</title><item><guid>g1</guid><title>G1</title></item></channel></rss>`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	node := func(name string) *Worker {
		st, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		c := safehttp.NewClient(safehttp.Options{AllowPrivate: true})
		return New(Config{DataDir: filepath.Join(dir, name), NodeName: name, LeaseTTL: time.Minute},
			st, Clients{Feed: c, Media: c, MaxFeed: 1 << 20}, nil, nil, slog.New(slog.DiscardHandler))
	}
	a, b := node("a"), node("b")
	f := Feed{Slug: "g", URL: srv.URL + "/feed.xml", MinGap: 30 * time.Minute}
	for i, step := range []struct {
		w    *Worker
		want int32
	}{
		{a, 1}, // first poll
		{b, 1}, // a polled a moment ago: skipped
		{a, 2}, // a's own last poll does not stop a
	} {
		if err := step.w.Poll(ctx, f); err != nil {
			t.Fatal(err)
		}
		if n := gets.Load(); n != step.want {
			t.Fatalf("step %d: the origin saw %d polls, want %d", i, n, step.want)
		}
	}
	later := time.Now().Add(31 * time.Minute)
	b.now = func() time.Time { return later }
	if err := b.Poll(ctx, f); err != nil {
		t.Fatal(err)
	}
	if n := gets.Load(); n != 3 {
		t.Fatalf("31 minutes later b should poll: the origin saw %d polls, want 3", n)
	}
}
