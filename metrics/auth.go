package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Protected serves h to requests bearing the admin token whose SHA-256 is tokenHash
// (Authorization: Bearer, as Prometheus's authorization scrape setting sends it). Without a
// configured token (ok false) it answers 404: the endpoint does not exist until an operator
// chooses a secret, so a default install shows nobody its load.
func Protected(h http.Handler, tokenHash [32]byte, ok bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ok {
			http.NotFound(w, r)
			return
		}
		token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Comparing hashes keeps the time independent of the token's length as well as its bytes.
		got := sha256.Sum256([]byte(token))
		if !found || subtle.ConstantTimeCompare(got[:], tokenHash[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="seedcast"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
