// Package web serves the public pages: the directory of podcasts with its search and OPML, a
// page per podcast and per episode with the in-browser player, and the embeddable player. Every
// page is html/template with its CSS, images and scripts served from this package (embed.FS)
// under a strict Content-Security-Policy: nothing is fetched from anywhere else.
package web

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/store"
)

//go:embed templates
var templateFS embed.FS

// staticFS is served at /static/: the stylesheet, the placeholder art and the player's scripts
// (player.js and vendor/, with their licences).
//
//go:embed static
var staticFS embed.FS

// Store is what the pages read.
type Store interface {
	Feeds(ctx context.Context) ([]store.Feed, error)
	Feed(ctx context.Context, slug string) (store.Feed, error)
	Listed(ctx context.Context, slug string) ([]store.Episode, error)
	EpisodeByInfoHash(ctx context.Context, infoHash string) (store.Episode, error)
	Search(ctx context.Context, query string, limit int) ([]store.SearchHit, error)
}

// Stats says how many peers a torrent's swarm has now (the embedded tracker's view).
type Stats interface {
	Stats(infoHash [20]byte) (seeders, leechers, downloaded int64, ok bool)
}

// StatsFunc adapts a function to Stats.
type StatsFunc func(infoHash [20]byte) (seeders, leechers, downloaded int64, ok bool)

// Stats calls f.
func (f StatsFunc) Stats(ih [20]byte) (int64, int64, int64, bool) { return f(ih) }

// Config is what the pages need to know of the gateway.
type Config struct {
	// Links makes the feed, .torrent and magnet URLs (PublicURL without a trailing slash).
	Links publisher.Config
	// ArtDir caches the podcasts' images (data_dir/art); "" serves the placeholder for all.
	ArtDir string
	// DirectoryPage and EpisodesPage are the directory's podcasts and a podcast page's episodes
	// per page (0: 48 and 100).
	DirectoryPage, EpisodesPage int
}

const (
	// searchHits caps the hits a search page shows.
	searchHits = 50
	// maxSearches is how many searches run at once; more wait up to searchWait, then get 503.
	maxSearches = 4
	searchWait  = 2 * time.Second
	// directoryTTL is how long the directory's figures are reused: a page view costs one read
	// of every feed at most this often, however many listeners load it.
	directoryTTL = 15 * time.Second
)

// Handler serves the public pages.
type Handler struct {
	cfg      Config
	st       Store
	stats    Stats
	log      *slog.Logger
	pages    map[string]*template.Template
	notes    *notesPolicy
	art      *artCache
	searches chan struct{}
	wait     time.Duration // searchWait
	now      func() time.Time

	dirMu    sync.Mutex
	dirAt    time.Time
	dirCards []podcastCard
}

// New returns the pages' handler. stats may be nil (no swarm figures shown); client fetches
// podcast art (it must be SSRF-guarded: the image URL is the feed's, a stranger's).
func New(cfg Config, st Store, stats Stats, client *http.Client, log *slog.Logger) *Handler {
	cfg.Links.PublicURL = strings.TrimRight(cfg.Links.PublicURL, "/")
	if cfg.DirectoryPage <= 0 {
		cfg.DirectoryPage = defaultDirectoryPage
	}
	if cfg.EpisodesPage <= 0 {
		cfg.EpisodesPage = defaultEpisodesPage
	}
	h := &Handler{cfg: cfg, st: st, stats: stats, log: log, pages: parsePages(), notes: newNotesPolicy(),
		searches: make(chan struct{}, maxSearches), wait: searchWait, now: time.Now}
	h.art = newArtCache(cfg.ArtDir, client, log)
	return h
}

// parsePages parses each page with the layout; the templates are ours and embedded, so a
// failure is a bug caught by every test.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{"date": fmtDate, "size": fmtSize}
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/player.html"))
	pages := make(map[string]*template.Template)
	for _, name := range []string{"directory", "podcast", "episode", "embed"} {
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

// Routes registers the pages on mux (GET patterns also answer HEAD).
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", h.serveDirectory)
	mux.HandleFunc("GET /directory.opml", h.serveOPML)
	mux.HandleFunc("GET /podcasts/{slug}", h.servePodcast)
	mux.HandleFunc("GET /podcasts/{slug}/{infohash}", h.serveEpisode)
	mux.HandleFunc("GET /embed/{slug}/{infohash}", h.serveEmbed)
	mux.HandleFunc("GET /art/{slug}", h.art.serve(h.st))
	static, _ := fs.Sub(staticFS, "static") // a fixed, embedded directory
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
}

// swPath is the service worker's path under /static/ (player.js registers it).
const swPath = "vendor/sw.min.js"

// staticHandler serves the embedded files, which change only with the binary.
func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if r.URL.Path == swPath {
			// WebTorrent's streaming service worker answers the player's media requests under
			// /webtorrent/, outside its own folder: its scope is the whole site.
			w.Header().Set("Service-Worker-Allowed", "/")
		}
		next.ServeHTTP(w, r)
	})
}

// The pages' policies. Pages without the player run no script at all; the player needs its
// scripts, blob: media (WebTorrent streams through MediaSource), a service worker, the
// tracker's WebSocket and, for the web seed, the episode's origin (added per page).
const (
	cspPage   = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	cspPlayer = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; " +
		"connect-src 'self' ws: wss:%s; worker-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors %s"
)

// render writes page with its security headers; a template error is logged and answered 500
// before any byte of the page is sent.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, page, csp string, data any) {
	var b bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&b, "layout", data); err != nil {
		h.log.Error("web: render", "page", page, "path", r.URL.Path, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-cache")
	if page != "embed" {
		hd.Set("X-Frame-Options", "DENY") // for browsers without frame-ancestors
	}
	w.Write(b.Bytes()) // a failed write is the client going away
}

// fail answers an error from the store: 404 for what does not exist, else 500 (logged).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	if err == nil || isNotFound(err) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h.log.Error("web: "+what, "path", r.URL.Path, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}
