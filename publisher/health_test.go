package publisher

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store/sqlite"
	"github.com/seedcast/seedcast/store/storetest"
)

func TestHealthzFailsOnDamagedStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "seedcast.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureFeed(ctx, "show", "https://example.com/show.xml"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	probe := func(h *health) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code
	}
	if code := probe(&health{check: st.Check, log: log, now: func() time.Time { return now }}); code != 200 {
		t.Fatalf("sound store: healthz %d, want 200", code)
	}
	st.Close()

	storetest.CorruptTable(t, path, "episodes")
	st, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := &health{check: st.Check, log: log, now: func() time.Time { return now }}
	if code := probe(h); code != http.StatusServiceUnavailable {
		t.Fatalf("damaged store: healthz %d, want 503", code)
	}

	// The answer is cached for healthTTL (the check reads the whole store), then asked again.
	checks := 0
	h = &health{check: func(ctx context.Context) error { checks++; return st.Check(ctx) }, log: log,
		now: func() time.Time { return now }}
	for range 5 {
		probe(h)
	}
	now = now.Add(healthTTL)
	if code := probe(h); code != http.StatusServiceUnavailable || checks != 2 {
		t.Fatalf("after %v: healthz %d after %d checks, want 503 after 2", healthTTL, code, checks)
	}
}
