package publisher

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"

	"github.com/gorilla/feeds"

	"github.com/seedcast/seedcast/store"
)

// renderGeneric writes the Atom and JSON Feed flavours through gorilla/feeds.
// They carry what those formats can: no itunes or podcast tags, so Extra is
// not copied; the torrent is the enclosure (Atom) or the first attachment
// (JSON Feed), the original media the second.
func renderGeneric(cfg Config, fl Flavour, f store.Feed, eps []store.Episode) ([]byte, []string, error) {
	base := strings.TrimRight(cfg.PublicURL, "/")
	self := base + fl.path(f.Slug)
	newest, built := dates(f, eps)
	gf := &feeds.Feed{
		Title:       clean(f.Title),
		Link:        &feeds.Link{Href: clean(f.Link)},
		Description: clean(f.Description),
		Updated:     built,
		Created:     newest,
		Id:          feedID(f, base),
		Copyright:   clean(f.Copyright),
	}
	if a := clean(f.Author); a != "" {
		gf.Author = &feeds.Author{Name: a}
	}
	var (
		dropped []string
		kept    [][]store.Episode // per item, its valid rows; the first is the primary
	)
	for _, group := range groupItems(eps) {
		var rows []store.Episode
		for _, e := range group {
			if !validHash(e.InfoHash) {
				dropped = append(dropped, fmt.Sprintf("episode %q: bad info hash %q", e.Key, e.InfoHash))
				continue
			}
			rows = append(rows, e)
		}
		if len(rows) == 0 {
			continue
		}
		kept = append(kept, rows)
		e := rows[0]
		it := &feeds.Item{
			Title:       clean(e.Title),
			Description: clean(e.Description),
			Content:     clean(e.Content),
			Id:          itemID(f, e),
			Created:     e.Published,
			Updated:     e.Published,
		}
		if it.Updated.IsZero() {
			it.Updated = e.PublishedAt
		}
		if l := clean(e.Link); l != "" {
			it.Link = &feeds.Link{Href: l}
		}
		if a := clean(e.Author); a != "" {
			it.Author = &feeds.Author{Name: a}
		}
		if ih := strings.ToLower(e.InfoHash); ih != "" {
			it.Enclosure = &feeds.Enclosure{Url: base + "/torrents/" + ih + ".torrent",
				Length: fmt.Sprint(e.TorrentSize), Type: torrentType}
		} else if u := clean(e.EnclosureURL); u != "" {
			it.Enclosure = &feeds.Enclosure{Url: u, Length: fmt.Sprint(mediaLength(e)), Type: mediaType(e)}
		}
		gf.Items = append(gf.Items, it)
	}

	var buf bytes.Buffer
	if fl == Atom {
		af := (&feeds.Atom{Feed: gf}).AtomFeed()
		af.Id = gf.Id // gorilla uses the link as the id; ours is stable
		var links []*feeds.AtomLink
		if gf.Link.Href != "" || cfg.Hub != "" {
			links = append(links, &feeds.AtomLink{Href: self, Rel: "self", Type: "application/atom+xml"})
		}
		if cfg.Hub != "" {
			links = append(links, &feeds.AtomLink{Href: cfg.Hub, Rel: "hub"})
		}
		for _, en := range af.Entries {
			// gorilla writes an empty alternate link for items without one.
			links := en.Links[:0]
			for _, l := range en.Links {
				if l.Href != "" {
					links = append(links, l)
				}
			}
			en.Links = links
		}
		if err := feeds.WriteXML(newAtomDoc(af, links), &buf); err != nil {
			return nil, dropped, fmt.Errorf("publisher: render atom %q: %w", f.Slug, err)
		}
		buf.WriteByte('\n')
		return buf.Bytes(), dropped, nil
	}

	jf := (&feeds.JSON{Feed: gf}).JSONFeed()
	jf.Version = "https://jsonfeed.org/version/1.1"
	jf.FeedUrl = self
	jf.Language = clean(f.Language)
	jf.Icon = clean(f.ImageURL)
	if cfg.Hub != "" {
		jf.Hubs = []*feeds.JSONHub{{Type: "WebSub", Url: cfg.Hub}}
	}
	for i, rows := range kept {
		for _, e := range rows {
			jf.Items[i].Attachments = append(jf.Items[i].Attachments, attachments(base, e)...)
		}
	}
	b, err := json.MarshalIndent(jf, "", "  ")
	if err != nil {
		return nil, dropped, fmt.Errorf("publisher: render json feed %q: %w", f.Slug, err)
	}
	return append(b, '\n'), dropped, nil
}

// atomDoc is gorilla's AtomFeed with room for more than one feed link (self and the WebSub
// hub), in the same place and order, so the document is otherwise unchanged.
type atomDoc struct {
	XMLName     xml.Name `xml:"feed"`
	Xmlns       string   `xml:"xmlns,attr"`
	Title       string   `xml:"title"`
	Id          string   `xml:"id"`
	Updated     string   `xml:"updated"`
	Category    string   `xml:"category,omitempty"`
	Icon        string   `xml:"icon,omitempty"`
	Logo        string   `xml:"logo,omitempty"`
	Rights      string   `xml:"rights,omitempty"`
	Subtitle    string   `xml:"subtitle,omitempty"`
	Links       []*feeds.AtomLink
	Author      *feeds.AtomAuthor `xml:"author,omitempty"`
	Contributor *feeds.AtomContributor
	Entries     []*feeds.AtomEntry `xml:"entry"`
}

// FeedXml lets feeds.WriteXML write the document.
func (a *atomDoc) FeedXml() interface{} { return a }

func newAtomDoc(af *feeds.AtomFeed, links []*feeds.AtomLink) *atomDoc {
	return &atomDoc{Xmlns: af.Xmlns, Title: af.Title, Id: af.Id, Updated: af.Updated, Category: af.Category,
		Icon: af.Icon, Logo: af.Logo, Rights: af.Rights, Subtitle: af.Subtitle, Links: links,
		Author: af.Author, Contributor: af.Contributor, Entries: af.Entries}
}

// attachments lists the torrent and the original media; JSON Feed has no
// enclosure, and gorilla adds none.
func attachments(base string, e store.Episode) []feeds.JSONAttachment {
	var as []feeds.JSONAttachment
	if ih := strings.ToLower(e.InfoHash); ih != "" {
		as = append(as, feeds.JSONAttachment{Url: base + "/torrents/" + ih + ".torrent",
			MIMEType: torrentType, Size: size32(e.TorrentSize)})
	}
	if u := clean(e.EnclosureURL); u != "" {
		as = append(as, feeds.JSONAttachment{Url: u, MIMEType: mediaType(e), Size: size32(mediaLength(e))})
	}
	return as
}

// size32 fits gorilla's int32 size field; larger files go without a size
// rather than with a wrong one.
func size32(n int64) int32 {
	if n <= 0 || n > math.MaxInt32 {
		return 0
	}
	return int32(n)
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// feedID is a stable Atom/JSON id: the podcast:guid when there is one, else
// the gateway's feed URL, which never changes for a slug.
func feedID(f store.Feed, base string) string {
	if g := strings.ToLower(strings.TrimSpace(f.PodcastGUID)); uuidRE.MatchString(g) {
		return "urn:uuid:" + g
	}
	return base + "/feeds/" + url.PathEscape(f.Slug) + ".rss"
}

// itemID is a stable id: the GUID when it is already a URI, else a URN made
// from the slug and the episode identity.
func itemID(f store.Feed, e store.Episode) string {
	g := clean(strings.TrimSpace(e.GUID))
	if u, err := url.Parse(g); err == nil && u.Scheme != "" && (u.Host != "" || u.Opaque != "") {
		return g
	}
	return "urn:seedcast:" + url.PathEscape(f.Slug) + ":" + url.PathEscape(clean(e.Key))
}
