package publisher

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// gatedStore is the real SQLite store with a gate in front of Listed: a
// rendering waits there until want requests have read the feed's version,
// so those requests are known to overlap it.
type gatedStore struct {
	store.Store
	want     int32
	versions atomic.Int32
	renders  atomic.Int32
	all      chan struct{}
}

func (g *gatedStore) FeedVersion(ctx context.Context, slug string) (int64, error) {
	v, err := g.Store.FeedVersion(ctx, slug)
	if g.versions.Add(1) == g.want {
		close(g.all)
	}
	return v, err
}

func (g *gatedStore) Listed(ctx context.Context, slug string) ([]store.Episode, error) {
	g.renders.Add(1)
	select {
	case <-g.all:
	case <-time.After(20 * time.Second):
		return nil, errors.New("gate: the requests never overlapped")
	}
	return g.Store.Listed(ctx, slug)
}

// A burst of requests for a feed that is not rendered yet (after a restart
// or a change) renders it once, and every request gets that document.
func TestBurstRendersOnce(t *testing.T) {
	fx := newFixture(t)
	fx.save(t, sampleEpisodes(), t0)
	fx.publish(t, "guid:ep2", "ep2.mp3", t0.Add(time.Hour))
	const n = 16
	g := &gatedStore{Store: fx.st, want: n, all: make(chan struct{})}
	mux := http.NewServeMux()
	New(Config{PublicURL: publicURL, DataDir: fx.dir}, g, slog.New(slog.NewTextHandler(t.Output(), nil))).Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, body := get(t, srv.URL+"/feeds/show.rss", nil)
			if resp.StatusCode != 200 {
				t.Errorf("request %d: status %d: %s", i, resp.StatusCode, body)
			}
			bodies[i] = body
		})
	}
	wg.Wait()
	if r := g.renders.Load(); r != 1 {
		t.Fatalf("%d overlapping requests rendered the feed %d times, want once", n, r)
	}
	for i, b := range bodies {
		if len(b) == 0 || !bytes.Equal(b, bodies[0]) {
			t.Fatalf("request %d got %d bytes, request 0 %d: not the same document", i, len(b), len(bodies[0]))
		}
	}

	// A change renders anew, once; an unchanged feed is not rendered again.
	fx.publish(t, "url:ep1", "ep1.mp3", t0.Add(2*time.Hour))
	for range 3 {
		if resp, body := get(t, srv.URL+"/feeds/show.rss", nil); resp.StatusCode != 200 || bytes.Equal(body, bodies[0]) {
			t.Fatalf("after a publish: status %d, same document %v", resp.StatusCode, bytes.Equal(body, bodies[0]))
		}
	}
	if r := g.renders.Load(); r != 2 {
		t.Fatalf("renders after one change and three requests = %d, want 2", r)
	}
}
