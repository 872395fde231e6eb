// Package admin is the operator's side of the gateway: the /admin dashboard (sign-in with the
// admin token into a session, CSRF tokens on every form) and the /api/v1 JSON API (the admin
// token as a Bearer token). Both act through the same Manager, so a feed added in either, or
// with `seedcast feeds`, is the same feed.
package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/seedcast/seedcast/store"
	"github.com/seedcast/seedcast/web/limit"
)

// Errors a Manager wraps, told apart by the handlers.
var (
	ErrInvalid = errors.New("invalid input")                      // 400: the message names the field
	ErrRefused = errors.New("the gateway would refuse this feed") // 422: the findings say why
	ErrPaused  = errors.New("feed is paused")                     // 409
	// ErrUnreachable: the feed could not be fetched to check it (502; the message says why).
	ErrUnreachable = errors.New("the feed could not be fetched")
)

// Findings are what checking a feed found (as `seedcast check` prints them).
type Findings struct {
	Title      string   `json:"title"`
	Items      int      `json:"items"`
	Enclosures int      `json:"enclosures"`
	Problems   []string `json:"problems"`
	Refused    bool     `json:"refused"`
	Refusal    string   `json:"refusal,omitempty"`
	Locked     bool     `json:"locked"` // podcast:locked yes: subscribing needs the owner's consent
}

// Manager changes the set of feeds.
type Manager interface {
	// Check is what the gateway would publish for feedURL (ErrRefused with the findings when it
	// would not), subscribing nothing.
	Check(ctx context.Context, feedURL string) (Findings, error)
	Add(ctx context.Context, feedURL, slug string, ownerConsent bool) (store.Feed, Findings, error)
	SetPaused(ctx context.Context, slug string, paused bool) error
	PollNow(ctx context.Context, slug string) error
	Remove(ctx context.Context, slug string, deleteMedia bool) error
	// Retry downloads a failed episode again now.
	Retry(ctx context.Context, slug, key string) error
	Pinned(slug string) bool
	NextPoll(slug string) time.Time
}

// Store is what the pages read, and where sessions live (shared by every node).
type Store interface {
	Feeds(ctx context.Context) ([]store.Feed, error)
	Feed(ctx context.Context, slug string) (store.Feed, error)
	StateCounts(ctx context.Context, slug string) (map[string]int, error)
	ListNodes(ctx context.Context) ([]store.Node, error)
	CreateSession(ctx context.Context, s store.Session) error
	Session(ctx context.Context, idHash string, now time.Time) (store.Session, error)
	DeleteSession(ctx context.Context, idHash string) error
}

// Config says how the handlers authenticate.
type Config struct {
	// TokenHash is the SHA-256 of admin.token; without one (HasToken false) /admin and /api/v1
	// answer 404, as /metrics does.
	TokenHash [32]byte
	HasToken  bool
	// Secure marks the cookies Secure (http.public_url is https).
	Secure     bool
	SessionTTL time.Duration // default 12 h
	// ClientIP is the requester's address (behind trusted proxies, the forwarded one), for the
	// sign-in rate limit.
	ClientIP func(*http.Request) netip.Addr
	Now      func() time.Time
	// Live is the running gateway's own figures (nil: the pages show the store's only);
	// Events its recent log records.
	Live   Live
	Events *Events
}

// Handler serves /admin and /api/v1.
type Handler struct {
	cfg    Config
	st     Store
	m      Manager
	log    *slog.Logger
	logins *limit.Window
	rates  rates
}

// New returns the handler.
func New(cfg Config, st Store, m Manager, log *slog.Logger) *Handler {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
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
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, st: st, m: m, log: log, logins: limit.New(10, time.Minute)}
}

const (
	sessionCookie = "seedcast_admin"
	loginCookie   = "seedcast_login" // the sign-in form's CSRF token (double submit)
)

// bearer reports whether r carries the admin token as a Bearer token.
func (h *Handler) bearer(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && h.tokenOK(token)
}

// tokenOK compares hashes, so the time taken says nothing of the token's length or bytes.
func (h *Handler) tokenOK(token string) bool {
	got := sha256.Sum256([]byte(token))
	return h.cfg.HasToken && subtle.ConstantTimeCompare(got[:], h.cfg.TokenHash[:]) == 1
}

// session returns the request's live session, if its cookie names one.
func (h *Handler) session(r *http.Request) (store.Session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) != 64 {
		return store.Session{}, false
	}
	s, err := h.st.Session(r.Context(), hashHex(c.Value), h.cfg.Now())
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			h.log.Error("admin: session lookup", "err", err)
		}
		return store.Session{}, false
	}
	return s, true
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func randomHex() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
