package submit

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/web/limit"
)

//go:embed templates/*.html
var templates embed.FS

var pages = template.Must(template.New("").ParseFS(templates, "templates/*.html"))

// csp: the pages run no script and load only the site's stylesheet.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Link is one URL on the owner's page.
type Link struct{ Name, URL string }

// Config is what the handler needs besides the service.
type Config struct {
	PublicURL string // http.public_url, for absolute links
	// FeedLinks are the torrent feeds' URLs for a slug (the publisher's flavours).
	FeedLinks func(slug string) []Link
	// ClientIP is the requester's address (behind trusted proxies, the forwarded one).
	ClientIP func(*http.Request) netip.Addr
	Secure   bool // cookies are Secure (public_url is https)
	// CreatesPerHour and VerifiesPerHour are allowed per address (IPv6 by /64); defaults 5 and 30.
	CreatesPerHour, VerifiesPerHour int
	Now                             func() time.Time
}

// Handler serves /submit, /submissions/{id} and the public /api/v1/submissions endpoints.
type Handler struct {
	cfg      Config
	svc      *Service
	log      *slog.Logger
	creates  *limit.Window
	verifies *limit.Window
}

// NewHandler returns the handler.
func NewHandler(cfg Config, svc *Service, log *slog.Logger) *Handler {
	if cfg.CreatesPerHour <= 0 {
		cfg.CreatesPerHour = 5
	}
	if cfg.VerifiesPerHour <= 0 {
		cfg.VerifiesPerHour = 30
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = func(r *http.Request) netip.Addr {
			ap, _ := netip.ParseAddrPort(r.RemoteAddr)
			return ap.Addr()
		}
	}
	if cfg.FeedLinks == nil {
		cfg.FeedLinks = func(string) []Link { return nil }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, svc: svc, log: log,
		creates: limit.New(cfg.CreatesPerHour, time.Hour), verifies: limit.New(cfg.VerifiesPerHour, time.Hour)}
}

// Routes registers the pages and the API on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /submit", h.form)
	mux.HandleFunc("POST /submit", h.formCreate)
	mux.HandleFunc("GET /submissions/{id}", h.ownerPage)
	mux.HandleFunc("POST /submissions/{id}/verify", h.formVerify)
	mux.HandleFunc("POST /api/v1/submissions", h.apiCreate)
	mux.HandleFunc("GET /api/v1/submissions/{id}", h.apiGet)
	mux.HandleFunc("POST /api/v1/submissions/{id}/verify", h.apiVerify)
}

// maxBody bounds a request body: one URL.
const maxBody = 8 << 10

const (
	csrfCookie  = "seedcast_submit_csrf"
	ownerCookie = "seedcast_owner"
)

// status is the HTTP status for an error of the service.
func status(err error) int {
	switch {
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrRefused):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrCarried), errors.Is(err, ErrState):
		return http.StatusConflict
	case errors.Is(err, ErrFull):
		return http.StatusServiceUnavailable
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// message is what the podcaster is told of err (never an internal error's text).
func (h *Handler) message(r *http.Request, err error) (int, string) {
	code := status(err)
	if code == http.StatusInternalServerError {
		h.log.Error("submit", "path", r.URL.Path, "err", err)
		return code, "internal error"
	}
	if code == http.StatusNotFound {
		return code, "no such submission (or not with that owner token)"
	}
	return code, err.Error()
}

// view is a submission as the API and the owner's page show it.
type view struct {
	ID           string `json:"id"`
	URL          string `json:"url"`
	Token        string `json:"token"`
	Status       string `json:"status"`
	Note         string `json:"note"`
	Instructions string `json:"instructions,omitempty"`
	Slug         string `json:"slug,omitempty"`
	Feeds        []Link `json:"feeds,omitempty"`
	Directory    string `json:"directory,omitempty"`
	// Owner-only: the page's private link and the report.
	OwnerToken string `json:"owner_token,omitempty"`
	OwnerPage  string `json:"owner_page,omitempty"`
	Report     string `json:"report,omitempty"`
}

func (h *Handler) view(s store.Submission, ownerToken string) view {
	v := view{ID: s.ID, URL: s.URL, Token: s.Token, Status: s.Status, Note: s.Note}
	if s.Status == store.SubmissionAwaiting {
		v.Instructions = Instructions(s)
	}
	if s.Status == store.SubmissionDone && s.Slug != "" {
		v.Slug, v.Feeds, v.Directory = s.Slug, h.cfg.FeedLinks(s.Slug), h.cfg.PublicURL+"/podcasts/"+s.Slug
	}
	if ownerToken != "" {
		q := "?" + url.Values{"token": {ownerToken}}.Encode()
		v.OwnerToken, v.OwnerPage = ownerToken, h.cfg.PublicURL+"/submissions/"+s.ID+q
		if v.Slug != "" {
			v.Report = h.cfg.PublicURL + "/reports/" + s.Slug + q
		}
	}
	return v
}

// decodeURL reads {"url": "..."} and nothing else.
func decodeURL(w http.ResponseWriter, r *http.Request) (string, error) {
	var in struct {
		URL string `json:"url"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return "", fmt.Errorf("%w: body must be a JSON object {\"url\": \"https://…\"} of at most %d bytes: %v", ErrInvalid, maxBody, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", fmt.Errorf("%w: body: one JSON object expected", ErrInvalid)
	}
	return in.URL, nil
}

func (h *Handler) apiCreate(w http.ResponseWriter, r *http.Request) {
	if !h.creates.Allow(h.cfg.ClientIP(r), h.cfg.Now()) {
		h.apiError(w, r, http.StatusTooManyRequests, "too many submissions from your address: try again in an hour")
		return
	}
	u, err := decodeURL(w, r)
	if err == nil {
		var sub store.Submission
		var owner string
		if sub, owner, err = h.svc.Create(r.Context(), u); err == nil {
			w.Header().Set("Location", "/api/v1/submissions/"+sub.ID)
			writeJSON(w, http.StatusCreated, h.view(sub, owner))
			return
		}
	}
	code, msg := h.message(r, err)
	h.apiError(w, r, code, msg)
}

func (h *Handler) apiVerify(w http.ResponseWriter, r *http.Request) {
	if !h.verifies.Allow(h.cfg.ClientIP(r), h.cfg.Now()) {
		h.apiError(w, r, http.StatusTooManyRequests, "too many verifications from your address: try again in an hour")
		return
	}
	sub, err := h.svc.Verify(r.Context(), r.PathValue("id"))
	if err != nil {
		code, msg := h.message(r, err)
		h.apiError(w, r, code, msg)
		return
	}
	writeJSON(w, http.StatusOK, h.view(sub, ""))
}

// apiGet shows a submission to its owner (Authorization: Bearer OWNER_TOKEN or ?token=).
func (h *Handler) apiGet(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		tok = r.URL.Query().Get("token")
	}
	sub, err := h.svc.Owned(r.Context(), r.PathValue("id"), tok)
	if err != nil {
		code, msg := h.message(r, err)
		h.apiError(w, r, code, msg)
		return
	}
	writeJSON(w, http.StatusOK, h.view(sub, tok))
}

func (h *Handler) apiError(w http.ResponseWriter, _ *http.Request, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // a failed write is the client going away
}

func (h *Handler) render(w http.ResponseWriter, code int, page string, data any) {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, page, data); err != nil {
		h.log.Error("submit: render", "page", page, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer") // the owner's ?token= never leaves in a Referer
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}
