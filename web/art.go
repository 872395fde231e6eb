package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
)

const (
	// maxArt caps a podcast image fetched from its origin.
	maxArt = 5 << 20
	// artTimeout bounds one fetch; artRetry is how long a failed one is not tried again.
	artTimeout = 20 * time.Second
	artRetry   = time.Hour
	// artFetches is how many images are fetched at once.
	artFetches = 2
	// placeholderPath is the art of a podcast without (usable) art.
	placeholderPath = "/static/podcast.svg"
)

// artCache serves each podcast's image from data_dir/art, fetched from the feed's image URL
// once (through the SSRF-guarded client), so listeners' browsers never contact the origin.
// Only PNG, JPEG, GIF and WebP are kept (by their bytes, not the origin's word): no SVG, which
// can carry script.
type artCache struct {
	dir    string
	client *http.Client
	log    *slog.Logger
	sem    chan struct{}

	mu       sync.Mutex
	inflight map[string]*artCall
	failed   map[string]time.Time // image URL → when it may be tried again
}

type artCall struct {
	done chan struct{}
	err  error
}

func newArtCache(dir string, client *http.Client, log *slog.Logger) *artCache {
	return &artCache{dir: dir, client: client, log: log, sem: make(chan struct{}, artFetches),
		inflight: make(map[string]*artCall), failed: make(map[string]time.Time)}
}

// artPath is the page's link to a podcast's image: the placeholder, or /art/{slug} with a
// version that changes with the image URL (so it can be cached for long).
func artPath(f store.Feed) string {
	u := httpURL(f.ImageURL)
	if u == "" {
		return placeholderPath
	}
	return podcastArt(f.Slug) + "?v=" + artKey(u)[:12]
}

func podcastArt(slug string) string { return "/art/" + url.PathEscape(slug) }

func artKey(imageURL string) string {
	sum := sha256.Sum256([]byte(imageURL))
	return hex.EncodeToString(sum[:])
}

// serve answers GET /art/{slug}.
func (a *artCache) serve(st Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := st.Feed(r.Context(), r.PathValue("slug"))
		if errors.Is(err, store.ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			a.log.Error("web: art", "feed", r.PathValue("slug"), "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		u := httpURL(f.ImageURL)
		if u == "" || a.dir == "" || a.client == nil {
			http.Redirect(w, r, placeholderPath, http.StatusFound)
			return
		}
		data, err := a.image(r.Context(), u)
		if err != nil {
			a.log.Debug("web: art unavailable, placeholder shown", "feed", f.Slug, "url", safehttp.RedactURL(u), "err", err)
			w.Header().Set("Cache-Control", "public, max-age=300")
			http.Redirect(w, r, placeholderPath, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", http.DetectContentType(data))
		w.Header().Set("Cache-Control", "public, max-age=604800")
		w.Write(data)
	}
}

// image returns the cached image of imageURL, fetching it first if needed (one fetch per URL
// at a time; a failure is remembered for artRetry).
func (a *artCache) image(ctx context.Context, imageURL string) ([]byte, error) {
	path := filepath.Join(a.dir, artKey(imageURL))
	if data, err := os.ReadFile(path); err == nil {
		return data, nil
	}
	a.mu.Lock()
	if until, ok := a.failed[imageURL]; ok && time.Now().Before(until) {
		a.mu.Unlock()
		return nil, fmt.Errorf("web: art %s failed recently", safehttp.RedactURL(imageURL))
	}
	c, ok := a.inflight[imageURL]
	if !ok {
		c = &artCall{done: make(chan struct{})}
		a.inflight[imageURL] = c
		go a.fetch(imageURL, path, c) // detached: the requests waiting on it may go away
	}
	a.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c.err != nil {
		return nil, c.err
	}
	return os.ReadFile(path)
}

func (a *artCache) fetch(imageURL, path string, c *artCall) {
	a.sem <- struct{}{}
	c.err = a.download(imageURL, path)
	<-a.sem
	a.mu.Lock()
	delete(a.inflight, imageURL)
	if c.err != nil {
		a.failed[imageURL] = time.Now().Add(artRetry)
	}
	a.mu.Unlock()
	close(c.done)
}

// download fetches one image into path (atomically: a temporary file renamed).
func (a *artCache) download(imageURL, path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), artTimeout)
	defer cancel()
	redacted := safehttp.RedactURL(imageURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, imageURL, nil)
	if err != nil {
		return fmt.Errorf("web: art %s: %w", redacted, err)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("web: art %s: %w", redacted, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("web: art %s: %s", redacted, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxArt+1))
	if err != nil {
		return fmt.Errorf("web: art %s: %w", redacted, err)
	}
	if len(data) > maxArt {
		return fmt.Errorf("web: art %s: larger than %d bytes", redacted, maxArt)
	}
	switch typ := http.DetectContentType(data); typ {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
	default:
		return fmt.Errorf("web: art %s: %s is not an image kept (png, jpeg, gif, webp)", redacted, typ)
	}
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return fmt.Errorf("web: art dir: %w", err)
	}
	tmp, err := os.CreateTemp(a.dir, ".art-*")
	if err != nil {
		return fmt.Errorf("web: art dir: %w", err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("web: art %s: %w", redacted, err)
	}
	return nil
}
