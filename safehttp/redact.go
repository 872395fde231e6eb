package safehttp

import (
	"net/url"
	"strings"
)

// mask stands in for every secret RedactURL hides.
const mask = "xxxxx"

// RedactURL returns rawURL fit for a log line, an error message or /status:
// a password becomes xxxxx (the user stays, so the feed is recognisable), a
// user name with no password is masked whole (it is often a token), and so
// is the value of every query or fragment parameter whose name looks secret
// (token, key, sig, auth, ...). Scheme, host and path are kept. It is for
// showing a URL only: fetch the original.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return redactUnparsed(rawURL)
	}
	changed := false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), mask)
		} else {
			u.User = url.User(mask)
		}
		changed = true
	}
	if q := redactParams(u.RawQuery); q != u.RawQuery {
		u.RawQuery, changed = q, true
	}
	if f := redactParams(u.EscapedFragment()); f != u.EscapedFragment() {
		u.RawFragment, changed = f, true
		u.Fragment, _ = url.PathUnescape(f)
	}
	if !changed {
		return rawURL // as written: nothing to hide, nothing re-encoded
	}
	return u.String()
}

// redactUnparsed handles what url.Parse refuses (bad escapes, control
// characters): everything between "://" and "@" and after "?" goes.
func redactUnparsed(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i+1] + mask
	}
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
			s = s[:i+3] + mask + rest[at:]
		}
	}
	return s
}

// redactParams masks the values of secret-looking parameters in an encoded
// query, keeping the order and spelling of everything else.
func redactParams(raw string) string {
	if raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if hasValue && secretName(name) {
			parts[i] = p[:strings.IndexByte(p, '=')+1] + mask
		}
	}
	return strings.Join(parts, "&")
}

// secretParts are substrings of parameter names that carry credentials:
// access_token, api_key, apikey, X-Amz-Signature, X-Amz-Credential,
// password, passkey, auth, oauth_token, session, sessionid, secret, jwt.
var secretParts = []string{"token", "secret", "pass", "auth", "session", "credential", "signature", "apikey", "api_key", "jwt"}

// secretWords are whole words (split at anything not a letter or digit) that
// do: key, sig (Azure SAS), sid, hmac, hash (signed links), and words ending
// in key (accesskey, passkey).
var secretWords = []string{"key", "sig", "sid", "hmac", "hash"}

func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range secretParts {
		if strings.Contains(n, s) {
			return true
		}
	}
	words := strings.FieldsFunc(n, func(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') })
	for _, w := range words {
		if strings.HasSuffix(w, "key") {
			return true
		}
		for _, s := range secretWords {
			if w == s {
				return true
			}
		}
	}
	return false
}

// RedactError rewrites, in place, the URL of every *url.Error in err's chain
// (net/http puts the whole request URL, query included, in its errors) with
// RedactURL, and returns err. Use it on errors of http.Client.Do before they
// are wrapped: fmt.Errorf renders its message when called, so a wrapper made
// earlier keeps the secret.
func RedactError(err error) error {
	walkErrors(err, func(e error) {
		if ue, ok := e.(*url.Error); ok {
			ue.URL = RedactURL(ue.URL)
		}
	})
	return err
}

// walkErrors calls f on err and every error it wraps, through joins too.
func walkErrors(err error, f func(error)) {
	if err == nil {
		return
	}
	f(err)
	switch x := err.(type) {
	case interface{ Unwrap() error }:
		walkErrors(x.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			walkErrors(e, f)
		}
	}
}
