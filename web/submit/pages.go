package submit

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/seedcast/seedcast/store"
)

// The forms' CSRF guard is a double submit: a random cookie (SameSite=Strict, so another site's
// form never carries it) that the form must repeat.

func (h *Handler) cookie(name, value, path string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: h.cfg.Secure, SameSite: http.SameSiteStrictMode}
}

// csrf returns the request's CSRF token, setting a fresh cookie when it has none.
func (h *Handler) csrf(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 64 {
		return c.Value
	}
	tok := randomHex(32)
	http.SetCookie(w, h.cookie(csrfCookie, tok, "/", 24*3600))
	return tok
}

func csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	got := r.PostFormValue("csrf")
	return err == nil && len(c.Value) == 64 && subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}

type formData struct {
	CSRF, URL, Problem string
}

func (h *Handler) form(w http.ResponseWriter, r *http.Request) {
	h.render(w, http.StatusOK, "submit", formData{CSRF: h.csrf(w, r)})
}

func (h *Handler) formCreate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	u := strings.TrimSpace(r.PostFormValue("url"))
	fail := func(code int, msg string) {
		h.render(w, code, "submit", formData{CSRF: h.csrf(w, r), URL: u, Problem: msg})
	}
	if !csrfOK(r) {
		fail(http.StatusForbidden, "The form was stale or not sent from this site: try again.")
		return
	}
	if !h.creates.Allow(h.cfg.ClientIP(r), h.cfg.Now()) {
		fail(http.StatusTooManyRequests, "Too many submissions from your address: try again in an hour.")
		return
	}
	sub, owner, err := h.svc.Create(r.Context(), u)
	if err != nil {
		code, msg := h.message(r, err)
		fail(code, "Not submitted: "+msg)
		return
	}
	http.SetCookie(w, h.cookie(ownerCookie, owner, "/submissions/"+sub.ID, 90*24*3600))
	http.Redirect(w, r, "/submissions/"+sub.ID, http.StatusSeeOther)
}

// owner is the owner token the request presents: ?token=, else the cookie set for this page.
func owner(r *http.Request) (tok string, fromQuery bool) {
	if t := r.URL.Query().Get("token"); t != "" {
		return t, true
	}
	if c, err := r.Cookie(ownerCookie); err == nil {
		return c.Value, false
	}
	return "", false
}

type ownerData struct {
	view
	CSRF    string
	Waiting bool // awaiting verification: show the token and the Verify button
}

func (h *Handler) ownerPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	tok, fromQuery := owner(r)
	sub, err := h.svc.Owned(r.Context(), id, tok)
	if err != nil {
		code, msg := h.message(r, err)
		http.Error(w, msg, code)
		return
	}
	if fromQuery {
		// The link was followed: the Verify button's round trip needs no token in a URL.
		http.SetCookie(w, h.cookie(ownerCookie, tok, "/submissions/"+id, 90*24*3600))
	}
	h.render(w, http.StatusOK, "owner", ownerData{view: h.view(sub, tok), CSRF: h.csrf(w, r),
		Waiting: sub.Status == store.SubmissionAwaiting})
}

func (h *Handler) formVerify(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if !csrfOK(r) {
		http.Error(w, "the form was stale or not sent from this site: reload the page and try again", http.StatusForbidden)
		return
	}
	if !h.verifies.Allow(h.cfg.ClientIP(r), h.cfg.Now()) {
		http.Error(w, "too many verifications from your address: try again in an hour", http.StatusTooManyRequests)
		return
	}
	id := r.PathValue("id")
	if _, err := h.svc.Verify(r.Context(), id); err != nil {
		code, msg := h.message(r, err)
		http.Error(w, msg, code)
		return
	}
	http.Redirect(w, r, "/submissions/"+id, http.StatusSeeOther)
}
