package feeds

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"time"
)

// EpisodeKey returns the identity of an episode: its GUID when it has one,
// else its canonical enclosure URL, else a hash of title and date.
func EpisodeKey(guid, enclosureURL, title string, published time.Time) string {
	if g := strings.TrimSpace(guid); g != "" {
		return "guid:" + g
	}
	if u := strings.TrimSpace(enclosureURL); u != "" {
		return "url:" + CanonicalURL(u)
	}
	date := ""
	if !published.IsZero() {
		date = published.UTC().Format(time.RFC3339)
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(title) + "|" + date))
	return "hash:" + hex.EncodeToString(sum[:])[:32]
}

// CanonicalURL returns a form of an enclosure URL that stays the same when
// the publisher adds measurement prefixes or tracking parameters, so the same
// episode is never downloaded twice. It is an identity, not a URL to fetch:
// http and https are folded together (to https) because hosts move between
// them and prefixes often drop the inner scheme.
func CanonicalURL(raw string) string {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	// Prefixes chain (podtrac → chartable → host); the bound stops loops.
	for range 10 {
		inner, ok := unwrapPrefix(u)
		if !ok {
			break
		}
		u = inner
	}

	scheme := strings.ToLower(u.Scheme)
	if scheme == "http" {
		scheme = "https"
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	if port != "" && port != "80" && port != "443" {
		host = joinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	c := url.URL{
		Scheme:   scheme,
		Host:     host,
		Path:     u.Path,
		RawPath:  u.RawPath,
		RawQuery: canonicalQuery(u.RawQuery),
	}
	if c.Path == "" {
		c.Path = "/"
	}
	return c.String()
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

// prefix describes a measurement redirect: host, then skip leading path
// segments matching the patterns ("*" matches any one segment), and the rest
// of the path is the original URL without its scheme.
type prefix struct {
	host     string // matched as the host or a subdomain of it
	segments []string
}

var prefixes = []prefix{
	{"podtrac.com", []string{"redirect.*"}},
	{"podtrac.com", []string{"pts", "redirect.*"}},
	{"chtbl.com", []string{"track", "*"}},
	{"chrt.fm", []string{"track", "*"}},
	{"pdst.fm", []string{"e"}},
	{"op3.dev", []string{"e"}},
	{"op3.dev", []string{"e,*"}},
	{"pfx.vpixl.com", []string{"*"}},
	{"mgln.ai", []string{"e", "*"}},
	{"mgln.ai", []string{"track", "*"}},
	{"verifi.podscribe.com", []string{"rss", "p"}},
	{"pscrb.fm", []string{"rss", "p"}},
	{"arttrk.com", []string{"p", "*"}},
	{"clrtpod.com", []string{"m"}},
	{"claritaspod.com", []string{"measure"}},
	{"prfx.byspotify.com", []string{"e"}},
	{"tracking.swap.fm", []string{"track", "*"}},
	{"media.blubrry.com", []string{"*"}},
}

// unwrapPrefix returns the URL inside a known measurement prefix.
func unwrapPrefix(u *url.URL) (*url.URL, bool) {
	host := strings.ToLower(u.Hostname())
	// Use the escaped path: the inner URL may itself hold escapes.
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	for _, p := range prefixes {
		if host != p.host && !strings.HasSuffix(host, "."+p.host) {
			continue
		}
		if len(segs) <= len(p.segments) || !segmentsMatch(segs, p.segments) {
			continue
		}
		rest := strings.Join(segs[len(p.segments):], "/")
		inner, ok := parseInner(rest, u.Scheme)
		if !ok {
			continue
		}
		if inner.RawQuery == "" {
			inner.RawQuery = u.RawQuery
		}
		return inner, true
	}
	return nil, false
}

func segmentsMatch(segs, patterns []string) bool {
	for i, pat := range patterns {
		s := strings.ToLower(segs[i])
		switch {
		case pat == "*":
			if s == "" {
				return false
			}
		case strings.HasSuffix(pat, "*"):
			if !strings.HasPrefix(s, strings.TrimSuffix(pat, "*")) {
				return false
			}
		case s != pat:
			return false
		}
	}
	return true
}

// parseInner parses the path remainder of a prefix URL, which is the
// original URL with or without its scheme ("https://", "https:/" after path
// cleaning, or "https%3A%2F%2F").
func parseInner(rest, outerScheme string) (*url.URL, bool) {
	if unescaped, err := url.PathUnescape(rest); err == nil && strings.Contains(strings.ToLower(rest), "%3a%2f") {
		rest = unescaped
	}
	lower := strings.ToLower(rest)
	for _, s := range []string{"https://", "http://", "https:/", "http:/"} {
		if strings.HasPrefix(lower, s) {
			rest = rest[len(s):]
			outerScheme = strings.TrimRight(s, ":/")
			break
		}
	}
	inner, err := url.Parse(outerScheme + "://" + rest)
	// A host without a dot or a URL without a path is more likely a file
	// name on the prefix host itself than a wrapped URL.
	if err != nil || !strings.Contains(inner.Hostname(), ".") || len(inner.Path) < 2 {
		return nil, false
	}
	return inner, true
}

// trackingParams are query parameters that identify a campaign or a click,
// never the file.
var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "dclid": true, "gbraid": true, "wbraid": true,
	"msclkid": true, "yclid": true, "twclid": true, "ttclid": true, "igshid": true,
	"mc_cid": true, "mc_eid": true, "_ga": true, "_gl": true,
	"ref": true, "source": true, "src": true,
	"awcollectionid": true, "awepisodeid": true,
}

func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var kept []string
	for _, pair := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' }) {
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		key = strings.ToLower(key)
		if key == "" || strings.HasPrefix(key, "utm_") || trackingParams[key] {
			continue
		}
		kept = append(kept, pair)
	}
	slices.Sort(kept)
	return strings.Join(kept, "&")
}
