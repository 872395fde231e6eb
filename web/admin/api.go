package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/seedcast/seedcast/store"
)

// Routes registers the dashboard and the API on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	api := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, h.apiAuth(fn)) }
	api("GET /api/v1/feeds", h.apiList)
	api("POST /api/v1/feeds", h.apiAdd)
	api("POST /api/v1/check", h.apiCheck)
	api("GET /api/v1/feeds/{slug}", h.apiGet)
	api("PATCH /api/v1/feeds/{slug}", h.apiPatch)
	api("DELETE /api/v1/feeds/{slug}", h.apiDelete)
	api("POST /api/v1/feeds/{slug}/poll", h.apiPoll)
	api("POST /api/v1/feeds/{slug}/retry", h.apiRetry)
	h.pageRoutes(mux)
}

// apiAuth admits requests with the admin token as a Bearer token. A browser never sends one on
// its own, so the API needs no CSRF token.
func (h *Handler) apiAuth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.cfg.HasToken {
			http.NotFound(w, r)
			return
		}
		if !h.bearer(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="seedcast"`)
			if r.Header.Get("Authorization") != "" {
				apiError(w, http.StatusForbidden, "the admin token is wrong")
				return
			}
			apiError(w, http.StatusUnauthorized, "send Authorization: Bearer {admin.token}")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r)
	})
}

// feedJSON is a feed as the API shows it.
type feedJSON struct {
	Slug      string         `json:"slug"`
	URL       string         `json:"url"`
	Title     string         `json:"title"`
	Origin    string         `json:"origin"`
	Pinned    bool           `json:"pinned"`
	Paused    bool           `json:"paused"`
	LastPoll  *time.Time     `json:"last_poll,omitempty"`
	LastOK    *time.Time     `json:"last_ok,omitempty"`
	NextPoll  *time.Time     `json:"next_poll,omitempty"`
	Error     string         `json:"error,omitempty"`
	ErrorKind string         `json:"error_kind,omitempty"`
	Episodes  map[string]int `json:"episodes"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func (h *Handler) feedJSON(r *http.Request, f store.Feed) feedJSON {
	counts, err := h.st.StateCounts(r.Context(), f.Slug)
	if err != nil {
		h.log.Warn("admin: state counts", "feed", f.Slug, "err", err)
	}
	if counts == nil {
		counts = map[string]int{}
	}
	return feedJSON{Slug: f.Slug, URL: f.URL, Title: f.Title, Origin: f.Origin, Pinned: h.m.Pinned(f.Slug),
		Paused: f.Paused, LastPoll: timePtr(f.LastPollAt), LastOK: timePtr(f.LastOKAt), NextPoll: timePtr(h.m.NextPoll(f.Slug)),
		Error: f.LastError, ErrorKind: f.ErrorKind, Episodes: counts}
}

func (h *Handler) apiList(w http.ResponseWriter, r *http.Request) {
	fs, err := h.st.Feeds(r.Context())
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	out := []feedJSON{}
	for _, f := range fs {
		out = append(out, h.feedJSON(r, f))
	}
	writeJSON(w, http.StatusOK, map[string]any{"feeds": out})
}

func (h *Handler) apiGet(w http.ResponseWriter, r *http.Request) {
	f, err := h.st.Feed(r.Context(), r.PathValue("slug"))
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h.feedJSON(r, f))
}

// maxAPIBody bounds a request body: a feed URL and a slug.
const maxAPIBody = 8 << 10

// decode reads a JSON object of known fields into v.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: body: one JSON object expected", ErrInvalid)
	}
	return nil
}

func (h *Handler) apiAdd(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL          string `json:"url"`
		Slug         string `json:"slug"`
		OwnerConsent bool   `json:"owner_consent"`
	}
	if err := decode(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	if in.URL == "" {
		h.apiFail(w, r, fmt.Errorf("%w: url is required", ErrInvalid))
		return
	}
	f, found, err := h.m.Add(r.Context(), in.URL, in.Slug, in.OwnerConsent)
	if errors.Is(err, ErrRefused) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error(), "findings": found})
		return
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/feeds/"+f.Slug)
	writeJSON(w, http.StatusCreated, map[string]any{"feed": h.feedJSON(r, f), "findings": found})
}

// apiCheck shows what adding a feed would publish, adding nothing.
func (h *Handler) apiCheck(w http.ResponseWriter, r *http.Request) {
	var in struct {
		URL string `json:"url"`
	}
	if err := decode(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	found, err := h.m.Check(r.Context(), in.URL)
	if errors.Is(err, ErrRefused) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error(), "findings": found})
		return
	}
	if err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"findings": found})
}

func (h *Handler) apiPatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Paused *bool `json:"paused"`
	}
	if err := decode(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	if in.Paused == nil {
		h.apiFail(w, r, fmt.Errorf("%w: paused (true or false) is required", ErrInvalid))
		return
	}
	slug := r.PathValue("slug")
	if err := h.m.SetPaused(r.Context(), slug, *in.Paused); err != nil {
		h.apiFail(w, r, err)
		return
	}
	h.apiGet(w, r)
}

func (h *Handler) apiDelete(w http.ResponseWriter, r *http.Request) {
	media := r.URL.Query().Get("media")
	if media != "" && media != "keep" && media != "delete" {
		h.apiFail(w, r, fmt.Errorf("%w: media must be keep or delete", ErrInvalid))
		return
	}
	if err := h.m.Remove(r.Context(), r.PathValue("slug"), media == "delete"); err != nil {
		h.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) apiPoll(w http.ResponseWriter, r *http.Request) {
	if err := h.m.PollNow(r.Context(), r.PathValue("slug")); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "polling"})
}

func (h *Handler) apiRetry(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Key string `json:"key"`
	}
	if err := decode(w, r, &in); err != nil {
		h.apiFail(w, r, err)
		return
	}
	if in.Key == "" {
		h.apiFail(w, r, fmt.Errorf("%w: key (the failed episode's) is required", ErrInvalid))
		return
	}
	if err := h.m.Retry(r.Context(), r.PathValue("slug"), in.Key); err != nil {
		h.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "retrying"})
}

// status is the HTTP status for a Manager or store error.
func status(err error) int {
	switch {
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrRefused):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrUnreachable):
		return http.StatusBadGateway
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrPinned), errors.Is(err, ErrPaused):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

func (h *Handler) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		h.log.Error("admin: api", "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	apiError(w, code, msg)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // a failed write is the client going away
}
