package admin

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/seedcast/seedcast/store"
)

//go:embed templates/*.html
var templates embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"bytes": humanBytes,
	"rate":  func(f float64) string { return humanBytes(int64(f)) + "/s" },
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"size": size,
}).ParseFS(templates, "templates/*.html"))

// size says a byte count the way an operator reads disk use: "340.5 KiB".
func size(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	v, unit := float64(n)/1024, 0
	for v >= 1024 && unit < 4 {
		v, unit = v/1024, unit+1
	}
	return fmt.Sprintf("%.1f %s", v, [...]string{"KiB", "MiB", "GiB", "TiB", "PiB"}[unit])
}

// csp: the dashboard runs no script and loads only the site's stylesheet.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func (h *Handler) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/login", h.loginForm)
	mux.HandleFunc("POST /admin/login", h.login)
	mux.Handle("POST /admin/logout", h.pageAuth(h.logout))
	mux.Handle("GET /admin", h.pageAuth(h.dashboard))
	mux.Handle("GET /admin/downloads", h.pageAuth(h.downloads))
	mux.Handle("POST /admin/feeds", h.pageAuth(h.addFeed))
	mux.Handle("POST /admin/feeds/{slug}/{action}", h.pageAuth(h.feedAction))
}

// authed is a request admitted to the dashboard: by session (whose forms carry CSRF) or by
// the Bearer token (a script; no cookie, so no CSRF to fear).
type authed struct {
	sess   store.Session
	bearer bool
}

// pageAuth admits a session or the Bearer token; a POST by session must carry its CSRF token.
func (h *Handler) pageAuth(next func(http.ResponseWriter, *http.Request, authed)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.cfg.HasToken {
			http.NotFound(w, r)
			return
		}
		if h.bearer(r) {
			next(w, r, authed{bearer: true})
			return
		}
		sess, ok := h.session(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
			if got := r.PostFormValue("csrf"); !subtleEq(got, sess.CSRF) {
				http.Error(w, "the form is stale or was not sent by this dashboard (CSRF token missing or wrong)", http.StatusForbidden)
				return
			}
		}
		next(w, r, authed{sess: sess})
	})
}

func subtleEq(a, b string) bool {
	return len(a) == len(b) && len(a) > 0 && hashHex(a) == hashHex(b)
}

func (h *Handler) render(w http.ResponseWriter, code int, page string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, page, data); err != nil {
		h.log.Error("admin: render", "page", page, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func (h *Handler) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/admin", MaxAge: maxAge, HttpOnly: true,
		Secure: h.cfg.Secure, SameSite: http.SameSiteStrictMode}
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.HasToken {
		http.NotFound(w, r)
		return
	}
	h.renderLogin(w, http.StatusOK, "")
}

func (h *Handler) renderLogin(w http.ResponseWriter, code int, problem string) {
	token := randomHex()
	http.SetCookie(w, h.cookie(loginCookie, token, 600))
	h.render(w, code, "login", map[string]string{"CSRF": token, "Problem": problem})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.HasToken {
		http.NotFound(w, r)
		return
	}
	if !h.logins.Allow(h.cfg.ClientIP(r), h.cfg.Now()) {
		h.renderLogin(w, http.StatusTooManyRequests, "Too many sign-in attempts from your address: wait a minute.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
	c, err := r.Cookie(loginCookie)
	if err != nil || !subtleEq(r.PostFormValue("csrf"), c.Value) {
		h.renderLogin(w, http.StatusForbidden, "The sign-in form was stale: try again.")
		return
	}
	if !h.tokenOK(r.PostFormValue("token")) {
		h.log.Warn("admin: failed sign-in", "addr", h.cfg.ClientIP(r).String())
		h.renderLogin(w, http.StatusUnauthorized, "That is not the admin token.")
		return
	}
	// A fresh session id at every sign-in, and any session the browser held is ended: a cookie
	// planted before sign-in (session fixation) never becomes a signed-in session.
	if old, err := r.Cookie(sessionCookie); err == nil {
		h.st.DeleteSession(r.Context(), hashHex(old.Value))
	}
	id, now := randomHex(), h.cfg.Now()
	sess := store.Session{IDHash: hashHex(id), CSRF: randomHex(), CreatedAt: now, ExpiresAt: now.Add(h.cfg.SessionTTL)}
	if err := h.st.CreateSession(r.Context(), sess); err != nil {
		h.log.Error("admin: create session", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, h.cookie(sessionCookie, id, int(h.cfg.SessionTTL.Seconds())))
	http.SetCookie(w, h.cookie(loginCookie, "", -1))
	h.log.Info("admin: signed in", "addr", h.cfg.ClientIP(r).String())
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, a authed) {
	if !a.bearer {
		if err := h.st.DeleteSession(r.Context(), a.sess.IDHash); err != nil {
			h.log.Error("admin: delete session", "err", err)
		}
	}
	http.SetCookie(w, h.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// feedRow is one feed on the dashboard.
type feedRow struct {
	store.Feed
	Pinned   bool
	NextPoll time.Time
	Counts   map[string]int
	Problem  string // the error kind in plain words
	Live     FeedLive
	CSRF     string // the session's, for the row's own forms
}

type dashboardData struct {
	CSRF     string
	Feeds    []feedRow
	Nodes    []store.Node
	Notice   string
	Failed   bool // the notice says what went wrong
	Findings *Findings
	Form     struct {
		URL, Slug string
		Consent   bool
	}
	Checked  bool // Findings are a check's, before subscribing
	Now      time.Time
	Torrents []TorrentRow
	Chart    Chart
	Uploads  Chart
	Events   []Event
}

// dashboardTorrents bounds the torrent table: the newest are what an operator watches.
const dashboardTorrents = 50

// dashboardEvents is how many of the node's recent log events the dashboard lists.
const dashboardEvents = 20

func (h *Handler) dashboardData(r *http.Request, a authed) (dashboardData, error) {
	d := dashboardData{CSRF: a.sess.CSRF, Now: h.cfg.Now()}
	fs, err := h.st.Feeds(r.Context())
	if err != nil {
		return d, err
	}
	for _, f := range fs {
		counts, err := h.st.StateCounts(r.Context(), f.Slug)
		if err != nil {
			return d, err
		}
		d.Feeds = append(d.Feeds, feedRow{Feed: f, Pinned: h.m.Pinned(f.Slug), NextPoll: h.m.NextPoll(f.Slug),
			Counts: counts, Problem: problemText(f.ErrorKind, f.LastError), CSRF: a.sess.CSRF})
	}
	// Troubled feeds first (failing, then with failed episodes), then paused, then by slug.
	rank := func(f feedRow) int {
		switch {
		case f.LastError != "":
			return 0
		case f.Counts[store.StateFailed] > 0:
			return 1
		case f.Paused:
			return 2
		}
		return 3
	}
	slices.SortStableFunc(d.Feeds, func(a, b feedRow) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Slug, b.Slug)
	})
	d.Nodes, err = h.st.ListNodes(r.Context())
	if err != nil {
		return d, err
	}
	d.Events = h.cfg.Events.Recent()
	d.Events = d.Events[:min(len(d.Events), dashboardEvents)]
	if h.cfg.Live == nil {
		return d, nil
	}
	live, err := h.cfg.Live.FeedLive(r.Context())
	if err != nil {
		return d, err
	}
	for i := range d.Feeds {
		d.Feeds[i].Live = live[d.Feeds[i].Slug]
	}
	if d.Torrents, err = h.cfg.Live.Torrents(r.Context(), dashboardTorrents); err != nil {
		return d, err
	}
	h.rates.update(d.Torrents, d.Now)
	perDay, err := h.cfg.Live.DailyCompletions(r.Context(), d.Now.AddDate(0, 0, -chartDays))
	if err != nil {
		return d, err
	}
	d.Chart = completionsChart(perDay, d.Now)
	up, err := h.cfg.Live.DailyUploads(r.Context(), d.Now.AddDate(0, 0, -chartDays))
	if err != nil {
		return d, err
	}
	d.Uploads = dayChart(up, d.Now, humanBytes)
	return d, nil
}

// problemText says an error kind in plain words.
func problemText(kind, msg string) string {
	if msg == "" {
		return ""
	}
	switch kind {
	case "dns":
		return "The feed's host name does not resolve (DNS)."
	case "refused":
		return "The feed's server refused the connection."
	case "timeout":
		return "The feed's server did not answer in time."
	case "http_status":
		return "The feed's server answered with an error status."
	case "too_large":
		return "The feed (or an episode) is larger than the configured limit."
	case "parse":
		return "The feed is not a readable RSS or Atom document."
	case "locked":
		return "The feed says podcast:locked and its owner has not consented."
	case "disk_full":
		return "The gateway's disk is too full to download episodes."
	}
	return "The last poll failed."
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, a authed) {
	d, err := h.dashboardData(r, a)
	if err != nil {
		h.log.Error("admin: dashboard", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	d.Notice = notices[r.URL.Query().Get("done")]
	h.render(w, http.StatusOK, "dashboard", d)
}

// downloadsRow is one download in flight on the live downloads page.
type downloadsRow struct {
	Feed string
	Download
}

// downloads is the page of downloads in flight, reloading itself every few seconds (a meta
// refresh: the dashboard runs no script).
func (h *Handler) downloads(w http.ResponseWriter, r *http.Request, a authed) {
	var rows []downloadsRow
	if h.cfg.Live != nil {
		live, err := h.cfg.Live.FeedLive(r.Context())
		if err != nil {
			h.log.Error("admin: downloads", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		for slug, l := range live {
			for _, d := range l.Downloading {
				rows = append(rows, downloadsRow{Feed: slug, Download: d})
			}
		}
	}
	slices.SortFunc(rows, func(a, b downloadsRow) int { return strings.Compare(a.Feed+a.Title, b.Feed+b.Title) })
	h.render(w, http.StatusOK, "downloads", map[string]any{"Rows": rows, "Now": h.cfg.Now()})
}

// notices are the fixed messages a redirect may ask for (never text from the query itself).
var notices = map[string]string{
	"added": "Feed added: its first poll is under way.", "paused": "Feed paused.", "resumed": "Feed resumed.",
	"poll": "Poll started.", "removed": "Feed removed.", "retry": "Download retried.",
}

func (h *Handler) addFeed(w http.ResponseWriter, r *http.Request, a authed) {
	feedURL, slug := strings.TrimSpace(r.PostFormValue("url")), strings.TrimSpace(r.PostFormValue("slug"))
	consent := r.PostFormValue("owner_consent") == "on"
	var found Findings
	var err error
	checking := r.PostFormValue("step") == "check"
	if checking {
		found, err = h.m.Check(r.Context(), feedURL)
	} else {
		_, found, err = h.m.Add(r.Context(), feedURL, slug, consent)
	}
	if err == nil && !checking {
		http.Redirect(w, r, "/admin?done=added", http.StatusSeeOther)
		return
	}
	d, derr := h.dashboardData(r, a)
	if derr != nil {
		h.log.Error("admin: dashboard", "err", derr)
	}
	d.Form.URL, d.Form.Slug, d.Form.Consent = feedURL, slug, consent
	if err == nil { // checked: the findings, and the form to subscribe
		d.Findings, d.Checked = &found, true
		d.Notice = "Checked, nothing added yet: review what the check found, then subscribe."
		h.render(w, http.StatusOK, "dashboard", d)
		return
	}
	code := status(err)
	d.Notice, d.Failed = "Not added: "+err.Error(), true
	if code == http.StatusInternalServerError {
		h.log.Error("admin: add feed", "err", err)
		d.Notice = "Not added: internal error."
	}
	if errors.Is(err, ErrRefused) {
		d.Findings = &found
	}
	h.render(w, code, "dashboard", d)
}

func (h *Handler) feedAction(w http.ResponseWriter, r *http.Request, a authed) {
	slug, ctx := r.PathValue("slug"), r.Context()
	var err error
	done := r.PathValue("action")
	switch done {
	case "pause":
		err, done = h.m.SetPaused(ctx, slug, true), "paused"
	case "resume":
		err, done = h.m.SetPaused(ctx, slug, false), "resumed"
	case "poll":
		err = h.m.PollNow(ctx, slug)
	case "remove":
		err, done = h.m.Remove(ctx, slug, r.PostFormValue("media") == "delete"), "removed"
	case "retry":
		err = h.m.Retry(ctx, slug, r.PostFormValue("key"))
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		code := status(err)
		msg := err.Error()
		if code == http.StatusInternalServerError {
			h.log.Error("admin: feed action", "feed", slug, "err", err)
			msg = "internal error"
		}
		http.Error(w, msg, code)
		return
	}
	http.Redirect(w, r, "/admin?done="+done, http.StatusSeeOther)
}

// humanBytes says a size for people: 1.5 GB.
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
