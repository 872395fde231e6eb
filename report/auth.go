package report

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
)

// Sponsor may read the reports of its feeds.
type Sponsor struct {
	Name        string
	TokenSHA256 [32]byte // of the token; the token itself need not be kept
	Feeds       []string
}

// Owners finds the feed a podcaster's owner token (from a verified submission) gives access to.
type Owners interface {
	OwnerFeed(ctx context.Context, token string) (slug string, ok bool)
}

// Auth decides who may read which feed's report.
type Auth struct {
	sponsors []Sponsor
	owners   Owners
}

// WithOwners lets the owners of submitted feeds read their own feed's report too.
func (a *Auth) WithOwners(o Owners) *Auth {
	a.owners = o
	return a
}

// NewAuth returns an Auth for these sponsors.
func NewAuth(sponsors []Sponsor) *Auth {
	return &Auth{sponsors: slices.Clone(sponsors)}
}

// presentedToken is the bearer token of the request, else its ?token=.
func presentedToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return r.URL.Query().Get("token")
}

// Check returns http.StatusOK and the sponsor's name when the request's token
// may read slug, 401 when there is no token or it is nobody's, and 403 when
// the sponsor exists but was not given that feed.
func (a *Auth) Check(r *http.Request, slug string) (int, string) {
	tok := presentedToken(r)
	if tok == "" {
		return http.StatusUnauthorized, ""
	}
	// Comparing fixed-size hashes, every sponsor every time, in constant
	// time: neither the token's length nor which sponsor matched leaks
	// through timing.
	sum := sha256.Sum256([]byte(tok))
	match := -1
	for i := range a.sponsors {
		if subtle.ConstantTimeCompare(sum[:], a.sponsors[i].TokenSHA256[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return a.checkOwner(r, tok, slug)
	}
	s := a.sponsors[match]
	if !slices.Contains(s.Feeds, slug) {
		return http.StatusForbidden, s.Name
	}
	return http.StatusOK, s.Name
}

// checkOwner admits the owner of slug's submission, by name "owner".
func (a *Auth) checkOwner(r *http.Request, tok, slug string) (int, string) {
	if a.owners == nil {
		return http.StatusUnauthorized, ""
	}
	owned, ok := a.owners.OwnerFeed(r.Context(), tok)
	switch {
	case !ok:
		return http.StatusUnauthorized, ""
	case owned != slug:
		return http.StatusForbidden, "owner"
	}
	return http.StatusOK, "owner"
}
