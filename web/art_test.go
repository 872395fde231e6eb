package web

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/store/sqlite"
)

// TestArt: a podcast's image is fetched from its origin once, kept on disk and served from
// the gateway; SVG, non-images, oversized images and failures give the placeholder.
func TestArt(t *testing.T) {
	ctx := context.Background()
	var img bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 8, 8))
	m.Set(1, 1, color.RGBA{200, 10, 10, 255})
	if err := png.Encode(&img, m); err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/art.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(img.Bytes())
		case "/art.svg":
			w.Header().Set("Content-Type", "image/png") // lying: the bytes decide
			w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>`))
		case "/huge.png":
			w.Write(img.Bytes())
			w.Write(make([]byte, maxArt))
		default:
			http.NotFound(w, r)
		}
	}))
	defer origin.Close()

	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "seedcast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for slug, path := range map[string]string{"png": "/art.png", "svg": "/art.svg", "huge": "/huge.png", "gone": "/missing.png", "none": ""} {
		if err := st.EnsureFeed(ctx, slug, "https://example.com/"+slug); err != nil {
			t.Fatal(err)
		}
		u := ""
		if path != "" {
			u = origin.URL + path
		}
		if err := st.SaveChannel(ctx, store.Feed{Slug: slug, Title: slug, ImageURL: u}, nil, t0); err != nil {
			t.Fatal(err)
		}
	}
	artDir := filepath.Join(dir, "art")
	h := New(Config{Links: publisher.Config{PublicURL: publicURL}, ArtDir: artDir}, st, nil, origin.Client(), slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := noRedirect.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp, b.Bytes()
	}

	for range 3 {
		resp, body := get("/art/png")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(body, img.Bytes()) ||
			!strings.Contains(resp.Header.Get("Cache-Control"), "max-age=") {
			t.Fatalf("GET /art/png: %s %q %q, %d bytes", resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), len(body))
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the origin was asked %d times for one image, want 1", n)
	}
	if files, _ := os.ReadDir(artDir); len(files) != 1 {
		t.Errorf("art dir holds %d files, want 1", len(files))
	}
	for _, slug := range []string{"svg", "huge", "gone", "none"} {
		resp, _ := get("/art/" + slug)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != placeholderPath {
			t.Errorf("GET /art/%s: %s to %q, want the placeholder", slug, resp.Status, resp.Header.Get("Location"))
		}
	}
	// A failure is not tried again at once.
	before := hits.Load()
	get("/art/gone")
	if hits.Load() != before {
		t.Errorf("a failed image was fetched again at once")
	}
	// The directory links the gateway's copy, never the origin.
	_, page := get("/")
	if bytes.Contains(page, []byte(origin.URL)) || !bytes.Contains(page, []byte(`src="/art/png?v=`)) || !bytes.Contains(page, []byte(`src="/static/podcast.svg"`)) {
		t.Errorf("directory art links:\n%s", page)
	}
}
