package publisher

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Store is what the publisher reads; every store driver satisfies it.
type Store interface {
	Feed(ctx context.Context, slug string) (store.Feed, error)        // wraps store.ErrNotFound when missing
	Listed(ctx context.Context, slug string) ([]store.Episode, error) // what the feed shows, in order
	EpisodeByInfoHash(ctx context.Context, infoHash string) (store.Episode, error)
	// FeedVersion changes whenever the feed's output would; one cheap read
	// decides whether the cached rendering is still good.
	FeedVersion(ctx context.Context, slug string) (int64, error)
	// Check fails when the store is damaged (see /healthz).
	Check(ctx context.Context) error
	// TorrentFile is the store's copy of a .torrent, for one this node has no file of.
	TorrentFile(ctx context.Context, infoHash string) ([]byte, error)
}

// Publisher serves the output feeds and .torrent files.
type Publisher struct {
	cfg Config
	st  Store
	log *slog.Logger

	mu      sync.Mutex
	cache   map[cacheKey]rendered
	renders map[cacheKey]*renderCall // in progress, at most one per document
}

// renderCall is one rendering of a document that requests arriving while it
// runs wait for, instead of each rendering the same feed again.
type renderCall struct {
	version int64
	done    chan struct{}
	doc     rendered
	err     error
}

// rendered is one feed document and what it was made from.
type rendered struct {
	version int64 // the store's FeedVersion it was rendered from
	body    []byte
	gz      []byte // body gzipped, for clients that ask
	etag    string
	modTime time.Time
}

// New returns a Publisher; cfg.PublicURL should have no trailing slash.
func New(cfg Config, st Store, log *slog.Logger) *Publisher {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Publisher{cfg: cfg, st: st, log: log, cache: make(map[cacheKey]rendered), renders: make(map[cacheKey]*renderCall)}
}

type cacheKey struct {
	slug string
	fl   Flavour
}

// Routes registers the feed flavours (GET /feeds/{slug}.rss, .atom, .json
// and /feeds/{slug}/podcast.rss), GET /torrents/{infohash}.torrent and GET
// /healthz (GET patterns also answer HEAD).
func (p *Publisher) Routes(mux *http.ServeMux) {
	// ServeMux wildcards are whole path segments, so the suffix is checked
	// in the handlers.
	mux.HandleFunc("GET /feeds/{file}", p.serveFeed)
	mux.HandleFunc("GET /feeds/{slug}/podcast.rss", func(w http.ResponseWriter, r *http.Request) {
		p.serveFlavour(w, r, r.PathValue("slug"), PodcastRSS)
	})
	mux.HandleFunc("GET /torrents/{file}", p.serveTorrent)
	mux.Handle("GET /healthz", &health{check: p.st.Check, log: p.log, now: time.Now})
}

func (p *Publisher) serveFeed(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	for _, fl := range []Flavour{TorrentRSS, Atom, JSON} {
		if slug, ok := strings.CutSuffix(file, path.Ext(fl.path("x"))); ok {
			p.serveFlavour(w, r, slug, fl)
			return
		}
	}
	http.NotFound(w, r)
}

func (p *Publisher) serveFlavour(w http.ResponseWriter, r *http.Request, slug string, fl Flavour) {
	if slug == "" {
		http.NotFound(w, r)
		return
	}
	doc, err := p.feed(r.Context(), slug, fl)
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		p.log.Error("publisher: serve feed", "feed", slug, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", fl.contentType())
	h.Set("Vary", "Accept-Encoding")
	body, etag := doc.body, doc.etag
	if acceptsGzip(r) {
		// A strong ETag names one byte sequence, so the gzipped body has its own.
		body, etag = doc.gz, strings.TrimSuffix(doc.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if plainGet(r) {
		// The common request: the cached bytes in one write, instead of
		// ServeContent's copy loop of 32 KiB writes.
		h.Set("Accept-Ranges", "bytes")
		if !doc.modTime.IsZero() {
			h.Set("Last-Modified", doc.modTime.UTC().Format(http.TimeFormat))
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method != http.MethodHead {
			w.Write(body) // a failed write is the client going away
		}
		return
	}
	// ServeContent answers If-None-Match / If-Modified-Since with 304 and
	// serves Range requests.
	http.ServeContent(w, r, "", doc.modTime, bytes.NewReader(body))
}

// plainGet reports whether r carries no validators and no Range, so the
// whole document is the answer.
func plainGet(r *http.Request) bool {
	for _, k := range []string{"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (listed and not refused with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if v, ok := strings.CutPrefix(q, "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			return err == nil && f > 0
		}
		return true
	}
	return false
}

// feed returns the feed document, rendering it only when its inputs changed:
// a request for an unchanged feed costs one indexed read, not a load of
// every episode. Requests that find the document stale while it is being
// rendered wait for that rendering: after a change or a restart, a burst of
// requests renders the feed once, not once each.
func (p *Publisher) feed(ctx context.Context, slug string, fl Flavour) (rendered, error) {
	version, err := p.st.FeedVersion(ctx, slug)
	if err != nil {
		return rendered{}, err
	}
	ck := cacheKey{slug, fl}
	p.mu.Lock()
	if doc, ok := p.cache[ck]; ok && doc.version == version {
		p.mu.Unlock()
		return doc, nil
	}
	c, ok := p.renders[ck]
	if !ok || c.version != version {
		c = &renderCall{version: version, done: make(chan struct{})}
		p.renders[ck] = c
		p.mu.Unlock()
		p.renderFor(ctx, ck, c)
		return c.doc, c.err
	}
	p.mu.Unlock()
	select {
	case <-c.done:
		return c.doc, c.err
	case <-ctx.Done():
		return rendered{}, ctx.Err()
	}
}

// renderFor runs c's rendering and hands its result to the requests waiting
// on it, even if the rendering panics (they then get an error, and the next
// request renders anew).
func (p *Publisher) renderFor(ctx context.Context, ck cacheKey, c *renderCall) {
	defer func() {
		p.mu.Lock()
		if p.renders[ck] == c {
			delete(p.renders, ck)
		}
		// A slower rendering of an older version must not replace a newer one.
		if old, ok := p.cache[ck]; c.err == nil && (!ok || old.version <= c.version) {
			p.cache[ck] = c.doc
		}
		p.mu.Unlock()
		close(c.done)
	}()
	c.err = fmt.Errorf("publisher: rendering feed %q did not finish", ck.slug)
	// Detached from this request: others wait on the result.
	c.doc, c.err = p.render(context.WithoutCancel(ctx), ck.slug, ck.fl, c.version)
}

// render builds one document of a feed from the store.
func (p *Publisher) render(ctx context.Context, slug string, fl Flavour, version int64) (rendered, error) {
	started := time.Now()
	// Read after the version: a change racing this render bumps the version
	// again, so the next request renders anew.
	f, err := p.st.Feed(ctx, slug)
	if err != nil {
		return rendered{}, err
	}
	eps, err := p.st.Listed(ctx, slug)
	if err != nil {
		return rendered{}, err
	}
	modTime := f.UpdatedAt
	for _, e := range eps {
		if e.PublishedAt.After(modTime) {
			modTime = e.PublishedAt
		}
	}

	body, dropped, err := render(p.cfg, fl, f, eps)
	if err != nil {
		return rendered{}, err
	}
	for _, d := range dropped {
		p.log.Warn("publisher: left out of feed", "feed", slug, "what", d)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body) // a bytes.Buffer does not fail; Close reports anything else
	if err := zw.Close(); err != nil {
		return rendered{}, fmt.Errorf("publisher: gzip feed %q: %w", slug, err)
	}
	sum := sha256.Sum256(body)
	p.log.Debug("feed rendered", "feed", slug, "path", fl.path(slug), "version", version,
		"episodes", len(eps), "bytes", len(body), "took", time.Since(started))
	return rendered{
		version: version,
		body:    body,
		gz:      gz.Bytes(),
		etag:    `"` + hex.EncodeToString(sum[:16]) + `"`,
		modTime: modTime,
	}, nil
}

func (p *Publisher) serveTorrent(w http.ResponseWriter, r *http.Request) {
	ih, ok := strings.CutSuffix(r.PathValue("file"), ".torrent")
	// Only a well-formed hash reaches the store, and never the filesystem.
	if !ok || !infoHashRE.MatchString(ih) {
		http.NotFound(w, r)
		return
	}
	ih = strings.ToLower(ih)
	e, err := p.st.EpisodeByInfoHash(r.Context(), ih)
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		p.log.Error("publisher: serve torrent", "info_hash", ih, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", torrentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment",
		map[string]string{"filename": torrentFilename(e.Title, ih)}))
	f, err := p.openTorrent(e.TorrentPath)
	if errors.Is(err, fs.ErrNotExist) {
		// Made by another node (or lost here): the store keeps every .torrent too.
		data, serr := p.st.TorrentFile(r.Context(), ih)
		if serr == nil {
			http.ServeContent(w, r, "", e.PublishedAt, bytes.NewReader(data))
			return
		}
		err = errors.Join(err, serr)
	}
	if err != nil {
		h.Del("Content-Disposition")
		p.log.Error("publisher: serve torrent", "info_hash", ih, "feed", e.FeedSlug, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		h.Del("Content-Disposition")
		p.log.Error("publisher: serve torrent: not a regular file", "info_hash", ih, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// openTorrent opens a stored path inside DataDir. os.OpenInRoot refuses
// "..", absolute paths and symlinks that lead outside the root.
func (p *Publisher) openTorrent(rel string) (*os.File, error) {
	if rel == "" || !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("publisher: torrent path %q is not inside the data dir", rel)
	}
	f, err := os.OpenInRoot(p.cfg.DataDir, rel)
	if err != nil {
		return nil, fmt.Errorf("publisher: open torrent: %w", err)
	}
	return f, nil
}

// torrentFilename makes a download name from the episode title using only
// characters safe in every filesystem and header.
func torrentFilename(title, ih string) string {
	var b strings.Builder
	dash := false
	for _, r := range title {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		switch {
		case ok:
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 80 {
			break
		}
	}
	name := strings.Trim(b.String(), "-")
	if name == "" {
		name = ih
	}
	return name + ".torrent"
}
