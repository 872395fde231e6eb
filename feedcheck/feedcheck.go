// Package feedcheck tells, before a feed is subscribed, what the gateway
// would publish for it: its items and the torrents they would become, every
// problem in plain words, and whether the feed would be refused. It reads the
// feed only: no enclosure is downloaded and nothing is stored. `seedcast
// check` prints its Report; an HTTP API can return the Report as JSON.
package feedcheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/seedcast/seedcast/feeds"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/worker"
)

// Options says how to check a feed.
type Options struct {
	// Client fetches URL sources. It must be a safehttp client: its guard
	// decides which addresses a checked URL may reach.
	Client *http.Client
	// MaxBytes caps the feed body (0: the fetcher's default, 20 MiB).
	MaxBytes int64
	// OwnerConsent checks as if the feed's config entry had owner_consent: true.
	OwnerConsent bool
	// MaxItems checks as if fetch.max_items were this (0: feeds.DefaultMaxItems).
	MaxItems int
}

// Report is what the gateway would publish for a feed.
type Report struct {
	Title string `json:"title"`
	Items []Item `json:"items"`
	// Problems says in plain words what a podcaster should know; when the
	// feed is refused, the first one says why ("refused: …").
	Problems []string `json:"problems"`
	// Refused is true when the gateway would not republish the feed; Refusal
	// says why (the feed does not parse, or is locked).
	Refused bool   `json:"refused"`
	Refusal string `json:"refusal,omitempty"`
	// Locked is <podcast:locked>yes</podcast:locked>: only the owner, or
	// someone with their permission, may subscribe it (owner_consent).
	Locked bool `json:"locked"`
	// VerifyTokens are the channel's <podcast:txt purpose="verify"> texts,
	// with which a podcaster proves the feed is theirs.
	VerifyTokens []string `json:"verify_tokens"`
}

// Item is one episode the gateway would keep.
type Item struct {
	Title string `json:"title"`
	// GUID is the item's GUID, or the identity the gateway uses instead.
	GUID string `json:"guid"`
	// Enclosures are the media the gateway would make a torrent of each of,
	// primary first, a URL listed more than once only once.
	Enclosures []Enclosure `json:"enclosures"`
}

// Enclosure is one media file and the torrent it would become.
type Enclosure struct {
	URL    string `json:"url"` // also the torrent's web seed
	Type   string `json:"type"`
	Length int64  `json:"length"` // as declared; 0 when unknown
	// TorrentName is the torrent's info name: what a listener's client saves
	// the file as.
	TorrentName string `json:"torrent_name"`
}

// ErrNotHTTP is returned by Check for a source that is not an http(s) URL.
var ErrNotHTTP = errors.New("feedcheck: not an http(s) URL")

// Check fetches feedURL with opts.Client and reports on it. An error means
// the feed could not be fetched (network, status, size); a feed that was
// fetched but would be refused is a Report with Refused set and a nil error.
// Only http(s) URLs are fetched: a caller passing a stranger's input never
// reads a local file.
func Check(ctx context.Context, opts Options, feedURL string) (Report, error) {
	u, err := url.Parse(feedURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Report{}, fmt.Errorf("%w: %s", ErrNotHTTP, safehttp.RedactURL(feedURL))
	}
	if opts.Client == nil {
		// Never fall back to an unguarded client for a URL someone else chose.
		return Report{}, errors.New("feedcheck: no HTTP client given (Options.Client)")
	}
	res, err := feeds.NewFetcher(opts.Client, opts.MaxBytes).Fetch(ctx, feedURL, "", "")
	if err != nil {
		return Report{}, err
	}
	base := res.FinalURL
	if base == "" {
		base = feedURL
	}
	return analyse(opts, res.Body, res.ContentType, base), nil
}

// CheckFile reports on a feed in a local file (for the command line).
// Relative links resolve against the file's own file:// URL.
func CheckFile(opts Options, path string) (Report, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return Report{}, fmt.Errorf("check: %w", err)
	}
	return analyse(opts, body, "", "file://"+path), nil
}

// analyse parses and judges a feed the way the worker does.
func analyse(opts Options, body []byte, contentType, base string) Report {
	maxItems := opts.MaxItems
	if maxItems <= 0 {
		maxItems = feeds.DefaultMaxItems
	}
	rep := Report{Items: []Item{}, Problems: []string{}, VerifyTokens: []string{}}
	var refusal error
	norm, err := feeds.Normalize(body, contentType)
	var f *feeds.Feed
	if err == nil {
		f, err = feeds.ParseNewest(norm, base, maxItems) // as the worker does: Problems says how many were left out
	}
	if err != nil {
		refusal = err
	} else {
		refusal = feeds.Refusal(f, opts.OwnerConsent)
		rep.Title = f.Title
		rep.Locked = f.Locked
		rep.Items = items(f)
		rep.Problems = append(rep.Problems, feeds.Problems(f)...)
		rep.VerifyTokens = append(rep.VerifyTokens, f.VerifyTokens...)
	}
	if refusal != nil {
		rep.Refused = true
		rep.Refusal = refusal.Error()
		rep.Problems = append([]string{"refused: " + rep.Refusal}, rep.Problems...)
	}
	return rep
}

// items lists what the worker would publish, built by the worker's own
// worker.Episodes so the two cannot disagree: one entry per item it keeps,
// each enclosure it would make a torrent of (primary first, a URL repeated
// by an alternateEnclosure once).
func items(f *feeds.Feed) []Item {
	out := []Item{}
	at := map[string]int{}
	for _, e := range worker.Episodes(f) {
		i, ok := at[e.ItemKey]
		if !ok {
			it := Item{Title: e.Title, GUID: e.GUID, Enclosures: []Enclosure{}}
			if it.GUID == "" {
				it.GUID = e.ItemKey
			}
			i = len(out)
			at[e.ItemKey] = i
			out = append(out, it)
		}
		if e.EnclosureURL != "" {
			out[i].Enclosures = append(out[i].Enclosures, Enclosure{
				URL: e.EnclosureURL, Type: e.EnclosureType, Length: e.EnclosureLength,
				TorrentName: worker.TorrentName(e.EnclosureURL, e.Title, e.EnclosureType),
			})
		}
	}
	return out
}
