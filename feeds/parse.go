package feeds

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/seedcast/seedcast/safehttp"
)

// Feed is a parsed podcast feed.
type Feed struct {
	Title, Link, Description, Language, Copyright, Author, ImageURL string

	PodcastGUID string // podcast:guid text, unchanged
	Locked      bool   // podcast:locked = yes
	// NewFeedURL is itunes:new-feed-url: the podcast moved. It is left out of
	// Extra because republishing it would move listeners off our feed.
	NewFeedURL string
	// VerifyTokens are the texts of the channel's <podcast:txt
	// purpose="verify"> elements (a podcaster proving they own the feed),
	// trimmed, each once, in source order: at most MaxVerifyTokens of at most
	// MaxVerifyTokenBytes each. The elements stay in Extra.
	VerifyTokens []string
	// Extra is a well-formed XML fragment of the channel's itunes:* and
	// podcast:* elements except podcast:guid and itunes:new-feed-url, in
	// source order, with prefixes itunes: and podcast:.
	Extra string
	// Hub and Self are the channel's WebSub hub and self links (atom:link rel="hub" and
	// rel="self", an Atom feed's link of those rels), resolved; "" when absent. Neither is in Extra.
	Hub, Self string
	Items     []Item // in source order
	// Warnings says what Parse had to leave out, in plain words.
	Warnings []string
	// Omitted counts the items left out as older than the newest fetch.max_items.
	Omitted int
}

// Item is one episode.
type Item struct {
	Key             string // identity, see EpisodeKey
	GUID            string
	GUIDIsPermaLink bool

	Title, Link, Description, Content, Author string
	Published                                 time.Time // zero if absent

	// Extra holds the item's itunes:* and podcast:* elements except
	// podcast:alternateEnclosure and atom:link rel="enclosure", like Feed.Extra.
	Extra string
	// Enclosures are the item's <enclosure>s, then its atom:link
	// rel="enclosure"s (an Atom entry's link rel="enclosure"s), then its renditions.
	Enclosures []Enclosure
	// RenditionAttrs maps the URL of an enclosure that came from a
	// podcast:alternateEnclosure to its descriptive attributes (bitrate,
	// height, lang, title, rel, codecs), encoded as a URL query string.
	RenditionAttrs map[string]string
	// NotMedia are the item's atom:links (an Atom entry's links) of an audio
	// or video type whose rel is not "enclosure", at most a few: no torrent
	// is made of them, and check says so.
	NotMedia []NotMediaLink
}

// NotMediaLink is a link with a media type that is not an enclosure.
type NotMediaLink struct {
	Rel, URL, Type string
}

// Enclosure is a media file of an item.
type Enclosure struct {
	URL    string // absolute: resolved against xml:base and the feed URL
	Type   string
	Length int64 // 0 if unknown or garbage
}

// ParseError is the error of a document that cannot be read as a feed: bytes in no encoding
// it can be decoded from, or markup that is not RSS, Atom or JSON Feed.
type ParseError struct {
	Op   string // "parse" or "decode"
	Name string // the feed's redacted URL (parse) or the encoding (decode); may be empty
	Err  error
}

func (e *ParseError) Error() string {
	s := "feeds: " + e.Op
	if e.Name != "" {
		s += " " + e.Name
	}
	return s + ": " + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse parses an RSS or Atom feed. body may be raw: Parse normalises it
// (Normalize is idempotent), but the HTTP charset is only honoured if the
// caller ran Normalize with the Content-Type first. feedURL resolves relative
// links and names the feed in errors.
func Parse(body []byte, feedURL string) (*Feed, error) {
	name := safehttp.RedactURL(feedURL)
	norm, err := Normalize(body, "")
	if err != nil {
		return nil, &ParseError{Op: "parse", Name: name, Err: err}
	}
	// scan runs first: it also rejects nesting too deep for gofeed.
	sc, err := scan(norm, feedURL)
	if err != nil {
		return nil, &ParseError{Op: "parse", Name: name, Err: err}
	}
	gf, err := parseGofeed(norm)
	if err != nil {
		return nil, &ParseError{Op: "parse", Name: name, Err: err}
	}

	f := &Feed{
		Title:       cleanText(gf.Title),
		Link:        cleanText(resolveLink(sc.channel.base, gf.Link)),
		Description: cleanText(gf.Description),
		Language:    cleanText(gf.Language),
		Copyright:   cleanText(gf.Copyright),
		Author:      sc.channel.itunesAuthor,
		PodcastGUID: sc.podGUID,
		Locked:      sc.locked,
		NewFeedURL:  sc.newURL,
		Extra:       sc.channel.extra.String(),

		VerifyTokens: sc.verify.tokens,
		Warnings:     sc.verify.warnings(),
		Hub:          sc.hub,
		Self:         sc.self,
	}
	if f.Author == "" {
		f.Author = personName(gf.Authors)
	}
	// Podcast apps show itunes:image; the RSS image is often a small logo.
	image := sc.channel.itunesImage
	if image == "" && gf.Image != nil {
		image = gf.Image.URL
	}
	if image != "" {
		f.ImageURL = cleanText(resolve(sc.channel.base, image))
	}

	scanned := sc.items()
	// Per-item scan data is only used when both parsers saw the same items;
	// otherwise it could be attached to the wrong episode.
	if len(scanned) != len(gf.Items) {
		scanned = nil
		f.Warnings = append(f.Warnings, fmt.Sprintf("the feed's %d items could not be matched to the %d the "+
			"parser found, so item tags beyond title, link, description, guid, date and enclosures are left out",
			len(sc.items()), len(gf.Items)))
	}
	for i, gi := range gf.Items {
		var si *itemScan
		if scanned != nil {
			si = scanned[i]
		}
		f.Items = append(f.Items, convertItem(gi, si, sc.channel.base))
	}
	return f, nil
}

// parseGofeed turns a panic inside the library into an error: feeds are
// hostile input and one bad feed must not take the daemon down.
func parseGofeed(b []byte) (f *gofeed.Feed, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("gofeed panic: %v", r)
		}
	}()
	return gofeed.NewParser().Parse(bytes.NewReader(b))
}

func convertItem(gi *gofeed.Item, si *itemScan, channelBase string) Item {
	base := channelBase
	if si != nil {
		base = si.base
	}
	it := Item{
		GUID:        cleanText(strings.TrimSpace(gi.GUID)),
		Title:       cleanText(gi.Title),
		Link:        cleanText(resolveLink(base, gi.Link)),
		Description: cleanText(gi.Description),
		Content:     cleanText(gi.Content),
	}
	if si != nil {
		it.GUIDIsPermaLink = it.GUID != "" && si.guidSeen && si.guidLink
		it.Author = si.itunesAuthor
		it.Extra = si.extra.String()
	}
	if it.Author == "" {
		it.Author = personName(gi.Authors)
	}
	switch {
	case gi.PublishedParsed != nil:
		it.Published = gi.PublishedParsed.UTC()
	case gi.UpdatedParsed != nil:
		it.Published = gi.UpdatedParsed.UTC()
	}
	for j, ge := range gi.Enclosures {
		if ge == nil || strings.TrimSpace(ge.URL) == "" {
			continue
		}
		encBase := base
		if si != nil && len(si.encBases) == len(gi.Enclosures) {
			encBase = si.encBases[j]
		}
		it.Enclosures = append(it.Enclosures, Enclosure{
			URL:    cleanText(resolve(encBase, ge.URL)),
			Type:   cleanText(strings.TrimSpace(ge.Type)),
			Length: parseLength(ge.Length),
		})
	}
	if si != nil {
		// Before the key: an item whose only media is an atom:link is
		// identified by it as by an <enclosure>. A URL already given as an
		// <enclosure> is not listed twice; a set, as a hostile feed may list
		// thousands.
		have := make(map[string]bool, len(it.Enclosures)+len(si.atomEncs))
		for _, e := range it.Enclosures {
			have[e.URL] = true
		}
		for _, e := range si.atomEncs {
			if !have[e.URL] {
				have[e.URL] = true
				it.Enclosures = append(it.Enclosures, e)
			}
		}
	}
	it.Key = EpisodeKey(it.GUID, primaryEnclosure(it.Enclosures), it.Title, it.Published)
	if si != nil {
		// After the key: renditions never change an episode's identity.
		it.Enclosures = append(it.Enclosures, si.renditions...)
		it.RenditionAttrs = si.renditionAt
		it.NotMedia = si.notMedia
	}
	return it
}

// MediaEnclosures lists the item's enclosures with the primary one (the
// first audio or video) first and the rest in source order, without repeats.
// Each becomes its own torrent under the same item.
func (it Item) MediaEnclosures() []Enclosure {
	primary := primaryEnclosure(it.Enclosures)
	var out []Enclosure
	seen := map[string]bool{}
	for _, e := range it.Enclosures {
		if e.URL == primary && !seen[e.URL] {
			out = append(out, e)
			seen[e.URL] = true
		}
	}
	for _, e := range it.Enclosures {
		if e.URL != "" && !seen[e.URL] {
			out = append(out, e)
			seen[e.URL] = true
		}
	}
	return out
}

// primaryEnclosure returns the URL of the first audio or video enclosure, or
// of the first enclosure: cover images are sometimes listed before the media.
func primaryEnclosure(encs []Enclosure) string {
	for _, e := range encs {
		t := strings.ToLower(e.Type)
		if strings.HasPrefix(t, "audio/") || strings.HasPrefix(t, "video/") {
			return e.URL
		}
	}
	if len(encs) > 0 {
		return encs[0].URL
	}
	return ""
}

func personName(ps []*gofeed.Person) string {
	for _, p := range ps {
		if p == nil {
			continue
		}
		if p.Name != "" {
			return cleanText(p.Name)
		}
		if p.Email != "" {
			return cleanText(p.Email)
		}
	}
	return ""
}

// parseLength returns a byte count, or 0 for anything that is not a
// plausible one ("", "-1", "12 MB", "1e9").
func parseLength(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// resolveLink resolves a link, leaving a missing one missing: resolving ""
// would give the feed URL, a link the source never had.
func resolveLink(base, ref string) string {
	if strings.TrimSpace(ref) == "" {
		return ""
	}
	return resolve(base, ref)
}
