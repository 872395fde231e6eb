package web

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/seedcast/seedcast/publisher"
	"github.com/seedcast/seedcast/store"
)

var infoHashRE = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// link is one labelled URL.
type link struct{ Name, URL string }

// podcastCard is a podcast as the directory and its own page show it.
type podcastCard struct {
	Slug, Title, Author, Description string
	PageURL, ArtURL                  string
	Episodes                         int
	Latest                           *episodeView
	Subscribe                        []link
}

// episodeView is one item's default torrent.
type episodeView struct {
	Title             string
	Date              time.Time
	Duration          string
	Size              int64
	PageURL           string
	TorrentURL        string
	Magnet            template.URL // publisher.Magnet's: html/template would refuse the magnet: scheme
	Original          string
	HasStats          bool
	Seeders, Leechers int64
	Downloaded        int64
	Notes             template.HTML
	PlainNotes        bool // the notes are text, not HTML: keep their line breaks
	Chapters          []link
	Transcripts       []link
	Player            *playerView
}

// playerView is the #player element's data (see templates/player.html: player.js reads it).
type playerView struct {
	InfoHash, Torrent, Magnet, SHA256, Name, Type string
	Video                                         bool
}

func (h *Handler) base() string { return h.cfg.Links.PublicURL }

func podcastPath(slug string) string { return "/podcasts/" + url.PathEscape(slug) }

func episodePath(slug, ih string) string { return podcastPath(slug) + "/" + strings.ToLower(ih) }

// card builds a podcast's card from its feed and listed episodes.
func (h *Handler) card(f store.Feed, items [][]store.Episode) podcastCard {
	c := podcastCard{Slug: f.Slug, Title: cmp.Or(strings.TrimSpace(f.Title), f.Slug), Author: oneLine(f.Author, 200),
		Description: h.notes.plain(f.Description, 300), PageURL: podcastPath(f.Slug), ArtURL: artPath(f),
		Episodes: len(items)}
	c.Title = oneLine(c.Title, 200)
	for _, fl := range publisher.Flavours {
		c.Subscribe = append(c.Subscribe, link{fl.String(), h.base() + fl.Path(f.Slug)})
	}
	if len(items) > 0 {
		v := h.episode(items[0][0], false)
		c.Latest = &v
	}
	return c
}

// items groups a feed's listed rows by item (an item with several enclosures has a row for
// each, its default first), newest first.
func items(eps []store.Episode) [][]store.Episode {
	var out [][]store.Episode
	for i, e := range eps {
		if !infoHashRE.MatchString(e.InfoHash) {
			continue
		}
		if i > 0 && len(out) > 0 && e.ItemKey != "" && e.ItemKey == eps[i-1].ItemKey {
			out[len(out)-1] = append(out[len(out)-1], e)
			continue
		}
		out = append(out, []store.Episode{e})
	}
	slices.SortStableFunc(out, func(a, b []store.Episode) int { return episodeDate(b[0]).Compare(episodeDate(a[0])) })
	return out
}

// episodeDate is the item's date in its feed, else when it was published here.
func episodeDate(e store.Episode) time.Time {
	if !e.Published.IsZero() {
		return e.Published
	}
	return e.PublishedAt
}

// episode builds the view of one torrent; full adds the show notes and the player.
func (h *Handler) episode(e store.Episode, full bool) episodeView {
	x := parseExtra(e.Extra)
	v := episodeView{
		Title:      oneLine(cmp.Or(e.Title, path.Base(e.EnclosureURL)), 300),
		Date:       episodeDate(e),
		Duration:   x.duration,
		Size:       cmp.Or(e.MediaSize, e.EnclosureLength),
		PageURL:    episodePath(e.FeedSlug, e.InfoHash),
		TorrentURL: publisher.TorrentURL(h.cfg.Links, e),
		Magnet:     template.URL(publisher.Magnet(h.cfg.Links, e)),
		Original:   httpURL(e.EnclosureURL),
	}
	if h.stats != nil {
		var ih [20]byte
		hex.Decode(ih[:], []byte(e.InfoHash)) // checked by infoHashRE before any episode is shown
		v.Seeders, v.Leechers, v.Downloaded, v.HasStats = h.stats.Stats(ih)
	}
	if !full {
		return v
	}
	v.Notes, v.PlainNotes = h.notes.sanitize(cmp.Or(e.Content, e.Description))
	v.Chapters, v.Transcripts = x.chapters, x.transcripts
	v.Player = h.player(e, x)
	return v
}

func (h *Handler) player(e store.Episode, x extra) *playerView {
	typ := e.EnclosureType
	if typ == "" {
		typ = "application/octet-stream"
	}
	name := path.Base(e.MediaPath)
	if e.MediaPath == "" {
		name = path.Base(e.EnclosureURL)
	}
	return &playerView{
		InfoHash: strings.ToLower(e.InfoHash),
		Torrent:  sameOrigin(publisher.TorrentURL(h.cfg.Links, e)),
		Magnet:   publisher.Magnet(h.cfg.Links, e),
		SHA256:   cmp.Or(strings.ToLower(e.SHA256), x.sha256),
		Name:     name,
		Type:     typ,
		Video:    strings.HasPrefix(typ, "video/"),
	}
}

// sameOrigin is the path of an absolute URL: the player fetches the .torrent from the page's
// own origin (connect-src 'self'), whichever host name the listener reached the gateway by.
func sameOrigin(abs string) string {
	u, err := url.Parse(abs)
	if err != nil || u.Path == "" {
		return abs
	}
	return u.EscapedPath()
}

// playerCSP is the player pages' policy: the web seed is fetched from the episode's origin,
// so that origin (and only it) is allowed to connect too.
func playerCSP(e store.Episode, frameAncestors string) string {
	origin := ""
	if u, err := url.Parse(httpURL(e.EnclosureURL)); err == nil && u.Host != "" && cspHostRE.MatchString(u.Host) {
		origin = " " + u.Scheme + "://" + u.Host
	}
	return fmt.Sprintf(cspPlayer, origin, frameAncestors)
}

// cspHostRE is a host (and port) that cannot break out of a CSP source list.
var cspHostRE = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

// httpURL returns raw when it is an absolute http or https URL, else "": the only links made
// from a feed's URLs.
func httpURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

type directoryPage struct {
	Title     string
	Query     string
	Searched  bool
	Hits      []searchHit
	Podcasts  []podcastCard
	OPML      []link
	Truncated bool
	Pager     pager
}

type searchHit struct {
	Title, URL, Podcast string
	Date                time.Time
}

func (h *Handler) serveDirectory(w http.ResponseWriter, r *http.Request) {
	page := directoryPage{Title: "Podcasts", OPML: []link{
		{"OPML (torrent feeds)", "/directory.opml"}, {"OPML (HTTP feeds)", "/directory.opml?flavour=podcast"}}}
	cards, err := h.directory(r)
	if err != nil {
		h.fail(w, r, "directory", err)
		return
	}
	from, to, pg := paginate(r, len(cards), h.cfg.DirectoryPage)
	page.Podcasts, page.Pager = cards[from:to], pg
	if q, ok := r.URL.Query()["q"]; ok {
		page.Searched = true
		page.Query = strings.TrimSpace(q[0])
		if len(page.Query) > store.MaxSearchQuery {
			page.Query, page.Truncated = strings.ToValidUTF8(page.Query[:store.MaxSearchQuery], ""), true
		}
		hits, err := h.search(r, page.Query, cards)
		if errors.Is(err, errBusy) {
			w.Header().Set("Retry-After", "2")
			http.Error(w, "too many searches at once: try again in a moment", http.StatusServiceUnavailable)
			return
		}
		if err != nil {
			h.fail(w, r, "search", err)
			return
		}
		page.Hits, page.Title = hits, "Search: "+page.Query
	}
	h.render(w, r, "directory", cspPage, page)
}

var errBusy = errors.New("web: too many searches at once")

// search runs a bounded number of searches at once, so a flood of them costs the store a
// fixed amount of work, not one query each.
func (h *Handler) search(r *http.Request, q string, cards []podcastCard) ([]searchHit, error) {
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.searches <- struct{}{}:
		defer func() { <-h.searches }()
	case <-t.C:
		return nil, errBusy
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	hits, err := h.st.Search(r.Context(), q, searchHits)
	if err != nil {
		return nil, err
	}
	titles := make(map[string]string, len(cards))
	for _, c := range cards {
		titles[c.Slug] = c.Title
	}
	var out []searchHit
	for _, hit := range hits {
		sh := searchHit{Title: oneLine(hit.Title, 300), Podcast: cmp.Or(titles[hit.FeedSlug], hit.FeedSlug), Date: hit.Published,
			URL: podcastPath(hit.FeedSlug)}
		if hit.EpisodeKey != "" && infoHashRE.MatchString(hit.InfoHash) {
			sh.URL = episodePath(hit.FeedSlug, hit.InfoHash)
		}
		out = append(out, sh)
	}
	return out, nil
}

// directory is every podcast's card, rebuilt at most every directoryTTL.
func (h *Handler) directory(r *http.Request) ([]podcastCard, error) {
	h.dirMu.Lock()
	defer h.dirMu.Unlock()
	if h.dirCards != nil && h.now().Sub(h.dirAt) < directoryTTL {
		return h.dirCards, nil
	}
	feeds, err := h.st.Feeds(r.Context())
	if err != nil {
		return nil, err
	}
	cards := []podcastCard{}
	for _, f := range feeds {
		eps, err := h.st.Listed(r.Context(), f.Slug)
		if err != nil {
			return nil, fmt.Errorf("feed %s: %w", f.Slug, err)
		}
		its := items(eps)
		if len(its) == 0 && f.Title == "" {
			continue // never polled successfully: nothing to show
		}
		cards = append(cards, h.card(f, its))
	}
	slices.SortStableFunc(cards, func(a, b podcastCard) int { return cmp.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)) })
	h.dirCards, h.dirAt = cards, h.now()
	return cards, nil
}

type podcastPage struct {
	Title    string
	Podcast  podcastCard
	Episodes []episodeView
	Newest   *episodeView
	Pager    pager
}

func (h *Handler) servePodcast(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	f, err := h.st.Feed(r.Context(), slug)
	if err != nil {
		h.fail(w, r, "podcast", err)
		return
	}
	eps, err := h.st.Listed(r.Context(), slug)
	if err != nil {
		h.fail(w, r, "podcast", err)
		return
	}
	its := items(eps)
	page := podcastPage{Podcast: h.card(f, its)}
	page.Title = page.Podcast.Title
	from, to, pg := paginate(r, len(its), h.cfg.EpisodesPage)
	page.Pager = pg
	for _, it := range its[from:to] {
		page.Episodes = append(page.Episodes, h.episode(it[0], false))
	}
	csp := cspPage
	if len(its) > 0 {
		v := h.episode(its[0][0], true)
		page.Newest = &v
		csp = playerCSP(its[0][0], "'none'")
	}
	h.render(w, r, "podcast", csp, page)
}

type episodePage struct {
	Title     string
	Podcast   podcastCard
	Episode   episodeView
	EmbedCode string
}

// torrentOf finds the published torrent the path names, in the podcast the path names.
func (h *Handler) torrentOf(r *http.Request) (store.Episode, error) {
	slug, ih := r.PathValue("slug"), r.PathValue("infohash")
	if !infoHashRE.MatchString(ih) {
		return store.Episode{}, store.ErrNotFound
	}
	e, err := h.st.EpisodeByInfoHash(r.Context(), strings.ToLower(ih))
	if err != nil {
		return store.Episode{}, err
	}
	if e.FeedSlug != slug {
		return store.Episode{}, store.ErrNotFound
	}
	return e, nil
}

func (h *Handler) serveEpisode(w http.ResponseWriter, r *http.Request) {
	e, err := h.torrentOf(r)
	if err != nil {
		h.fail(w, r, "episode", err)
		return
	}
	f, err := h.st.Feed(r.Context(), e.FeedSlug)
	if err != nil {
		h.fail(w, r, "episode", err)
		return
	}
	page := episodePage{Podcast: h.card(f, nil), Episode: h.episode(e, true)}
	page.Title = page.Episode.Title
	embedURL := h.base() + "/embed/" + url.PathEscape(e.FeedSlug) + "/" + strings.ToLower(e.InfoHash)
	page.EmbedCode = `<iframe src="` + template.HTMLEscapeString(embedURL) + `" width="480" height="120" title="` +
		template.HTMLEscapeString(page.Episode.Title) + `"></iframe>`
	h.render(w, r, "episode", playerCSP(e, "'none'"), page)
}

type embedPage struct {
	Title      string
	Episode    episodeView
	EpisodeURL string
}

func (h *Handler) serveEmbed(w http.ResponseWriter, r *http.Request) {
	e, err := h.torrentOf(r)
	if err != nil {
		h.fail(w, r, "embed", err)
		return
	}
	page := embedPage{Episode: h.episode(e, true), EpisodeURL: h.base() + episodePath(e.FeedSlug, e.InfoHash)}
	page.Title = page.Episode.Title
	// The one page other sites may frame.
	h.render(w, r, "embed", playerCSP(e, "*"), page)
}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}

func fmtSize(n int64) string {
	switch {
	case n <= 0:
		return ""
	case n < 1<<20:
		return fmt.Sprintf("%.0f KB", float64(n)/1e3)
	case n < 1<<30:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
