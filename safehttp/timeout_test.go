package safehttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The time limits end a stalled origin: one that never answers (header
// timeout) and one that answers but never finishes the body (whole-request
// timeout). The origin blocks until the client gives up, so the test waits
// only as long as the limit.
func TestTimeLimits(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()

	for _, tc := range []struct {
		name string
		path string
		o    Options
	}{
		{"no headers", "/no-headers", Options{AllowPrivate: true, HeaderTimeout: 200 * time.Millisecond}},
		{"body never ends", "/slow-body", Options{AllowPrivate: true, Timeout: 300 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+tc.path, nil)
			resp, err := NewClient(tc.o).Do(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Fatal("a stalled origin did not time out")
			}
			if ctx.Err() != nil {
				t.Fatalf("the limit did not fire; only the test's own deadline did: %v", err)
			}
			var ne interface{ Timeout() bool }
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("error %v is not a timeout", err)
			}
		})
	}
}
