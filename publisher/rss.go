// Package publisher serves what listeners fetch: the torrent feed of each
// podcast (RSS 2.0 with BEP 36 enclosures) and the .torrent files it points to.
package publisher

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/feeds"

	"github.com/seedcast/seedcast/store"
)

// Namespaces declared on the <rss> root. Extra fragments may use the itunes
// and podcast prefixes without declaring them.
const (
	nsItunes  = "http://www.itunes.com/dtds/podcast-1.0.dtd"
	nsPodcast = "https://podcastindex.org/namespace/1.0"
	nsContent = "http://purl.org/rss/1.0/modules/content/"
	nsAtom    = "http://www.w3.org/2005/Atom"

	torrentType = "application/x-bittorrent"
)

// Config says where the publisher's URLs point and where its files live.
type Config struct {
	PublicURL string // e.g. http://127.0.0.1:8080, base of every URL published; no trailing slash
	DataDir   string // .torrent paths in store.Episode.TorrentPath are relative to this
	// Trackers are announce URLs added to magnet links (tr=); optional.
	Trackers []string
	// Hub is the WebSub hub told of every change (push.websub_hub): each feed names it beside
	// its self link, so readers can subscribe. "" = none.
	Hub string
	// Podping says every change is announced on Podping (push.podping_url): the RSS feeds
	// carry <podcast:podping usesPodping="true"/>, so apps may poll them less.
	Podping bool
}

// rssRoot is the <rss> element. gorilla/feeds only declares the content
// namespace, so the root is ours and the channel embeds gorilla's.
type rssRoot struct {
	XMLName   xml.Name `xml:"rss"`
	Version   string   `xml:"version,attr"`
	NSItunes  string   `xml:"xmlns:itunes,attr"`
	NSPodcast string   `xml:"xmlns:podcast,attr"`
	NSContent string   `xml:"xmlns:content,attr"`
	NSAtom    string   `xml:"xmlns:atom,attr"`
	Channel   *rssChannel
}

// FeedXml lets feeds.WriteXML write the document.
func (r *rssRoot) FeedXml() interface{} { return r }

type rssChannel struct {
	XMLName xml.Name `xml:"channel"`
	*feeds.RssFeed
	AtomLinks   []atomLink `xml:"atom:link"` // self, then the WebSub hub
	PodcastGUID string     `xml:"podcast:guid,omitempty"`
	Podping     *pcPodping
	Extra       string `xml:",innerxml"`
	// Shadows RssFeed.Items: gorilla's item type has no room for our extras.
	Items []*rssItem `xml:"item"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
}

type pcPodping struct {
	XMLName     xml.Name `xml:"podcast:podping"`
	UsesPodping bool     `xml:"usesPodping,attr"`
}

type rssItem struct {
	XMLName xml.Name `xml:"item"`
	*feeds.RssItem
	Extra string `xml:",innerxml"`
	// One per torrent of the item: an item with several enclosures offers
	// each as its own rendition, the primary one marked default.
	Alternates []*altEnclosure `xml:"podcast:alternateEnclosure"`
}

// altEnclosure is the Podcasting 2.0 way to offer the same media through the
// torrent, a magnet and the original URL, for apps that read it.
type altEnclosure struct {
	Type      string     `xml:"type,attr"`
	Length    int64      `xml:"length,attr,omitempty"`
	Default   bool       `xml:"default,attr"`
	Described []xml.Attr `xml:",any,attr"` // the source rendition's bitrate, height, lang, title, rel, codecs
	Sources   []pcSource `xml:"podcast:source"`
	Integrity *pcIntegrity
}

type pcSource struct {
	URI         string `xml:"uri,attr"`
	ContentType string `xml:"contentType,attr,omitempty"`
}

type pcIntegrity struct {
	XMLName xml.Name `xml:"podcast:integrity"`
	Type    string   `xml:"type,attr"`
	Value   string   `xml:"value,attr"`
}

var (
	infoHashRE = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)
	v2HashRE   = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// Flavour is one form of an output feed.
type Flavour int

const (
	// TorrentRSS is /feeds/{slug}.rss: BEP 36 enclosures pointing at .torrent files.
	TorrentRSS Flavour = iota
	// PodcastRSS is /feeds/{slug}/podcast.rss: the original HTTP enclosures,
	// with the torrent and magnet offered as alternateEnclosure sources.
	PodcastRSS
	// Atom is /feeds/{slug}.atom, the torrent feed as Atom 1.0.
	Atom
	// JSON is /feeds/{slug}.json, the torrent feed as JSON Feed 1.1.
	JSON
)

// path returns the flavour's URL path for a slug.
func (fl Flavour) path(slug string) string {
	s := url.PathEscape(slug)
	switch fl {
	case PodcastRSS:
		return "/feeds/" + s + "/podcast.rss"
	case Atom:
		return "/feeds/" + s + ".atom"
	case JSON:
		return "/feeds/" + s + ".json"
	}
	return "/feeds/" + s + ".rss"
}

func (fl Flavour) contentType() string {
	switch fl {
	case Atom:
		return "application/atom+xml; charset=utf-8"
	case JSON:
		return "application/feed+json; charset=utf-8"
	}
	return "application/rss+xml; charset=utf-8"
}

// RenderRSS writes the torrent feed of f with one item per episode, in the
// given order. Episodes without a valid info hash are left out, as are Extra
// fragments that are not well-formed XML: one bad row must not break the feed.
func RenderRSS(cfg Config, f store.Feed, eps []store.Episode) ([]byte, error) {
	b, _, err := render(cfg, TorrentRSS, f, eps)
	return b, err
}

// Render writes one flavour of the feed of f. An episode with an empty
// InfoHash is an item without a torrent (no enclosure in the source, or not
// downloaded): it is written with its original enclosure, if any. An episode
// with a malformed InfoHash is left out.
func Render(cfg Config, fl Flavour, f store.Feed, eps []store.Episode) ([]byte, error) {
	b, _, err := render(cfg, fl, f, eps)
	return b, err
}

// render is Render that also says what it left out, so the handler can log it.
func render(cfg Config, fl Flavour, f store.Feed, eps []store.Episode) ([]byte, []string, error) {
	switch fl {
	case Atom, JSON:
		return renderGeneric(cfg, fl, f, eps)
	}
	base := strings.TrimRight(cfg.PublicURL, "/")
	var dropped []string

	title := clean(f.Title)
	desc := clean(f.Description)
	if desc == "" {
		desc = title
	}
	ch := &rssChannel{
		RssFeed: &feeds.RssFeed{
			Title:       title,
			Link:        clean(f.Link),
			Description: desc,
			Language:    clean(f.Language),
			Copyright:   clean(f.Copyright),
			Generator:   "Seedcast",
		},
		AtomLinks: []atomLink{{
			Href: base + fl.path(f.Slug),
			Rel:  "self",
			Type: "application/rss+xml",
		}},
		PodcastGUID: clean(f.PodcastGUID),
	}
	if cfg.Hub != "" {
		ch.AtomLinks = append(ch.AtomLinks, atomLink{Href: cfg.Hub, Rel: "hub"})
	}
	if cfg.Podping {
		ch.Podping = &pcPodping{UsesPodping: true}
	}
	if f.ImageURL != "" {
		ch.Image = &feeds.RssImage{Url: clean(f.ImageURL), Title: title, Link: clean(f.Link)}
	}
	if ok, why := fragmentOK(f.Extra); ok {
		ch.Extra = f.Extra
	} else {
		dropped = append(dropped, "channel extra: "+why)
	}

	newest, built := dates(f, eps)
	for _, group := range groupItems(eps) {
		var it *rssItem
		for _, e := range group {
			if !validHash(e.InfoHash) {
				dropped = append(dropped, fmt.Sprintf("episode %q: bad info hash %q", e.Key, e.InfoHash))
				continue
			}
			if it != nil {
				// A further enclosure of the same item: another rendition.
				if alt := altFor(cfg, base, e, false); alt != nil {
					it.Alternates = append(it.Alternates, alt)
				}
				continue
			}
			var why string
			it, why = newItem(cfg, fl, base, e)
			if why != "" {
				dropped = append(dropped, fmt.Sprintf("episode %q extra: %s", e.Key, why))
			}
		}
		if it != nil {
			ch.Items = append(ch.Items, it)
		}
	}
	ch.PubDate = rfc1123z(newest)
	ch.LastBuildDate = rfc1123z(built)

	root := &rssRoot{
		Version:   "2.0",
		NSItunes:  nsItunes,
		NSPodcast: nsPodcast,
		NSContent: nsContent,
		NSAtom:    nsAtom,
		Channel:   ch,
	}
	var buf bytes.Buffer
	if err := feeds.WriteXML(root, &buf); err != nil {
		return nil, dropped, fmt.Errorf("publisher: render feed %q: %w", f.Slug, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), dropped, nil
}

// validHash accepts an info hash or none (an item without a torrent).
func validHash(ih string) bool {
	return ih == "" || infoHashRE.MatchString(ih)
}

// dates returns the newest episode date (the channel pubDate) and the latest
// change of anything in the feed (lastBuildDate).
func dates(f store.Feed, eps []store.Episode) (newest, built time.Time) {
	built = f.UpdatedAt
	for _, e := range eps {
		if !validHash(e.InfoHash) {
			continue
		}
		if e.Published.After(newest) {
			newest = e.Published
		}
		if e.PublishedAt.After(built) {
			built = e.PublishedAt
		}
	}
	if newest.IsZero() {
		newest = built
	}
	return newest, built
}

// guidOf returns the item's GUID, or its identity when the source had none,
// so readers can still tell items apart.
func guidOf(e store.Episode) *feeds.RssGuid {
	if g := clean(e.GUID); g != "" {
		return &feeds.RssGuid{Id: g, IsPermaLink: strconv.FormatBool(e.GUIDIsPermaLink)}
	}
	return &feeds.RssGuid{Id: clean(e.Key), IsPermaLink: "false"}
}

// mediaLength is the best known size of the original media.
func mediaLength(e store.Episode) int64 {
	if e.MediaSize > 0 {
		return e.MediaSize
	}
	return e.EnclosureLength
}

func mediaType(e store.Episode) string {
	if t := clean(e.EnclosureType); t != "" {
		return t
	}
	return "application/octet-stream"
}

// newItem builds one item; the string is why its Extra was dropped, if it was.
func newItem(cfg Config, fl Flavour, base string, e store.Episode) (*rssItem, string) {
	ih := strings.ToLower(e.InfoHash)
	torrentURL := base + "/torrents/" + ih + ".torrent"
	title := clean(e.Title)
	origURL := clean(e.EnclosureURL)

	it := &rssItem{RssItem: &feeds.RssItem{
		Title:       title,
		Link:        clean(e.Link),
		Description: clean(e.Description),
		Author:      clean(e.Author),
		Guid:        guidOf(e),
		PubDate:     rfc1123z(e.Published),
	}}
	// Set directly: gorilla's Item conversion would drop it on empty fields.
	switch {
	case ih != "" && fl == TorrentRSS:
		it.Enclosure = &feeds.RssEnclosure{Url: torrentURL, Length: strconv.FormatInt(e.TorrentSize, 10), Type: torrentType}
	case origURL != "":
		it.Enclosure = &feeds.RssEnclosure{Url: origURL, Length: strconv.FormatInt(mediaLength(e), 10), Type: mediaType(e)}
	}
	if c := clean(e.Content); c != "" {
		it.Content = &feeds.RssContent{Content: c}
	}

	if alt := altFor(cfg, base, e, true); alt != nil {
		it.Alternates = append(it.Alternates, alt)
	}

	ok, why := fragmentOK(e.Extra)
	if ok {
		it.Extra = e.Extra
	}
	return it, why
}

// altFor offers one torrent as a Podcasting 2.0 rendition: the .torrent, a
// magnet and the original URL, with the media's integrity when known.
func altFor(cfg Config, base string, e store.Episode, isDefault bool) *altEnclosure {
	ih := strings.ToLower(e.InfoHash)
	if ih == "" {
		return nil
	}
	torrentURL := base + "/torrents/" + ih + ".torrent"
	origURL := clean(e.EnclosureURL)
	alt := &altEnclosure{
		Type:    mediaType(e),
		Length:  mediaLength(e),
		Default: isDefault,
		Sources: []pcSource{
			{URI: torrentURL, ContentType: torrentType},
			{URI: magnet(cfg, ih, e.InfoHashV2, clean(e.Title), torrentURL, origURL)},
		},
	}
	if origURL != "" {
		alt.Sources = append(alt.Sources, pcSource{URI: origURL})
	}
	if sum, err := hex.DecodeString(e.SHA256); err == nil && len(sum) == 32 {
		alt.Integrity = &pcIntegrity{Type: "sri", Value: "sha256-" + base64.StdEncoding.EncodeToString(sum)}
	}
	alt.Described = renditionAttrs(e.EnclosureAttrs)
	return alt
}

// renditionAttrs turns a rendition's stored attributes back into XML
// attributes, only the names the namespace defines, in a fixed order.
func renditionAttrs(encoded string) []xml.Attr {
	if encoded == "" {
		return nil
	}
	v, err := url.ParseQuery(encoded)
	if err != nil {
		return nil
	}
	var out []xml.Attr
	for _, name := range []string{"bitrate", "height", "lang", "title", "rel", "codecs"} {
		if a := clean(v.Get(name)); a != "" {
			out = append(out, xml.Attr{Name: xml.Name{Local: name}, Value: a})
		}
	}
	return out
}

// groupItems splits published rows into items: consecutive rows sharing an
// ItemKey are one item's enclosures, the primary (index 0) first.
func groupItems(eps []store.Episode) [][]store.Episode {
	var out [][]store.Episode
	for i, e := range eps {
		if i > 0 && e.ItemKey != "" && e.ItemKey == eps[i-1].ItemKey {
			out[len(out)-1] = append(out[len(out)-1], e)
			continue
		}
		out = append(out, []store.Episode{e})
	}
	return out
}

// magnet builds a BEP 9 link: the hash (and a hybrid's v2 hash as a BEP 52
// btmh multihash: 0x12 SHA-256, 0x20 bytes), a display name, our trackers, the
// .torrent as exact source and the original URL as web seed.
func magnet(cfg Config, ih, ihV2, name, torrentURL, webseed string) string {
	var b strings.Builder
	b.WriteString("magnet:?xt=urn:btih:" + ih)
	if v2HashRE.MatchString(ihV2) {
		b.WriteString("&xt=urn:btmh:1220" + strings.ToLower(ihV2))
	}
	if name != "" {
		b.WriteString("&dn=" + url.QueryEscape(name))
	}
	for _, tr := range cfg.Trackers {
		b.WriteString("&tr=" + url.QueryEscape(tr))
	}
	b.WriteString("&xs=" + url.QueryEscape(torrentURL))
	if webseed != "" {
		b.WriteString("&ws=" + url.QueryEscape(webseed))
	}
	return b.String()
}

func rfc1123z(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC1123Z)
}

// clean drops what XML 1.0 cannot carry: invalid UTF-8 and characters outside
// its Char production (most C0 controls, surrogates, U+FFFE/U+FFFF).
// encoding/xml would turn some into U+FFFD but writes CDATA unchecked.
func clean(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !xmlChar(r) }) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !(r == utf8.RuneError && n == 1) && xmlChar(r) {
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}

// fragmentOK checks that an Extra fragment is well-formed XML whose prefixes
// are all declared, either on our root or inside the fragment itself, so that
// namespace-aware readers (feedparser, libxml2) accept the feed.
func fragmentOK(frag string) (bool, string) {
	if strings.TrimSpace(frag) == "" {
		return true, ""
	}
	doc := `<x xmlns:itunes="` + nsItunes + `" xmlns:podcast="` + nsPodcast +
		`" xmlns:content="` + nsContent + `" xmlns:atom="` + nsAtom + `">` + frag + `</x>`
	d := xml.NewDecoder(strings.NewReader(doc))
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			// The decoder leaves an undeclared prefix in Space; a declared
			// one becomes its URI, which always holds a colon.
			if undeclared(t.Name.Space) {
				return false, "undeclared prefix " + t.Name.Space
			}
			for _, a := range t.Attr {
				if a.Name.Space != "xmlns" && undeclared(a.Name.Space) {
					return false, "undeclared prefix " + a.Name.Space
				}
			}
		case xml.EndElement:
			depth--
			if depth == 0 {
				// Closing our wrapper early means the fragment closed it.
				if _, err := d.Token(); err != io.EOF {
					return false, "unbalanced fragment"
				}
				return true, ""
			}
		case xml.ProcInst, xml.Directive:
			return false, "processing instruction or directive in fragment"
		}
	}
}

func undeclared(space string) bool {
	return space != "" && !strings.Contains(space, ":")
}
