package report

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Handler serves /reports/{slug}, /reports/{slug}.json and /reports/{slug}.csv.
type Handler struct {
	src       Source
	auth      *Auth
	embedded  string
	costPerGB float64
	log       *slog.Logger
	now       func() time.Time
}

// NewHandler returns the report handler. embedded is the announce URL of the
// gateway's own tracker, costPerGB audience.cost_per_gb; now nil means time.Now.
func NewHandler(src Source, auth *Auth, embedded string, costPerGB float64, log *slog.Logger, now func() time.Time) *Handler {
	if now == nil {
		now = time.Now
	}
	return &Handler{src: src, auth: auth, embedded: embedded, costPerGB: costPerGB, log: log, now: now}
}

// Routes registers the report endpoints on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("GET /reports/{name}", h)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	slug, format := name, "html"
	for _, ext := range []string{"json", "csv"} {
		if s, ok := strings.CutSuffix(name, "."+ext); ok {
			slug, format = s, ext
		}
	}
	// Reports are private to their sponsor: never cached by anyone else, and
	// a ?token= link never leaks through a Referer.
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch code, sponsor := h.auth.Check(r, slug); code {
	case http.StatusOK:
		h.log.Debug("report", "feed", slug, "format", format, "sponsor", sponsor)
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="seedcast reports"`)
		http.Error(w, "a sponsor token is required (Authorization: Bearer TOKEN or ?token=TOKEN)", code)
		return
	default:
		http.Error(w, "this token does not give access to that feed's report", code)
		return
	}
	rep, err := Load(r.Context(), h.src, slug, h.embedded, h.costPerGB, h.now())
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no such feed (yet)", http.StatusNotFound)
		return
	}
	if err != nil {
		h.log.Error("report", "feed", slug, "err", err)
		http.Error(w, "the report could not be built", http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	switch format {
	case "json":
		w.Header().Set("Content-Type", "application/json")
		err = WriteJSON(&b, rep)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
		w.Header().Set("Content-Disposition", `attachment; filename="`+slug+`-downloads.csv"`)
		err = WriteCSV(&b, rep)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// The page is self-contained: inline styles and SVG only.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		err = WriteHTML(&b, rep, links(r, slug))
	}
	if err != nil {
		h.log.Error("report", "feed", slug, "format", format, "err", err)
		http.Error(w, "the report could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Write(b.Bytes())
}

// links are the CSV and JSON URLs of the same report, carrying the ?token=
// only when the page itself was opened with one (a shareable link).
func links(r *http.Request, slug string) map[string]string {
	q := ""
	if tok := r.URL.Query().Get("token"); tok != "" && r.Header.Get("Authorization") == "" {
		q = "?" + url.Values{"token": {tok}}.Encode()
	}
	return map[string]string{"json": slug + ".json" + q, "csv": slug + ".csv" + q}
}
