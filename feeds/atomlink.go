package feeds

import (
	"encoding/xml"
	"strings"
)

// rssItemLink reads an RSS item's atom:link and reports whether it became an
// enclosure. An Atom-style enclosure is media like <enclosure>: feedparser
// and Bitlove read it so, and Podlove writes one per file. Like feedparser,
// rel matches in any case but not padded.
func (it *itemScan) rssItemLink(c *capture) bool {
	href := strings.TrimSpace(c.rootAttr("href"))
	if href == "" {
		return false
	}
	rel := c.rootAttr("rel")
	if !strings.EqualFold(rel, "enclosure") {
		it.noteNotMedia(rel, resolve(it.base, href), c.rootAttr("type"))
		return false
	}
	it.atomEncs = append(it.atomEncs, Enclosure{
		URL:    cleanText(resolve(it.base, href)),
		Type:   cleanText(strings.TrimSpace(c.rootAttr("type"))),
		Length: parseLength(c.rootAttr("length")),
	})
	return true
}

// atomEntryLink notes an Atom entry's enclosure link that gofeed misses:
// gofeed takes rel="enclosure" exactly (resolving xml:base itself), and
// feedparser also takes "Enclosure" and the like.
func (it *itemScan) atomEntryLink(t xml.StartElement, base string) {
	var rel, href, typ, length string
	for _, a := range t.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "rel":
			rel = a.Value
		case "href":
			href = strings.TrimSpace(a.Value)
		case "type":
			typ = a.Value
		case "length":
			length = a.Value
		}
	}
	switch {
	case rel == "enclosure":
	case strings.EqualFold(rel, "enclosure") && href != "":
		it.atomEncs = append(it.atomEncs, Enclosure{
			URL:    cleanText(resolve(base, href)),
			Type:   cleanText(strings.TrimSpace(typ)),
			Length: parseLength(length),
		})
	case href != "":
		it.noteNotMedia(rel, resolve(base, href), typ)
	}
}

// maxNotMedia bounds the links noted per item: a few tell the podcaster
// what is wrong, and a hostile feed may have thousands.
const maxNotMedia = 5

// noteNotMedia remembers a link that looks like media but is not an
// enclosure, so check can say why it gets no torrent.
func (it *itemScan) noteNotMedia(rel, href, typ string) {
	t := strings.ToLower(strings.TrimSpace(typ))
	if len(it.notMedia) >= maxNotMedia || !(strings.HasPrefix(t, "audio/") || strings.HasPrefix(t, "video/")) {
		return
	}
	if rel == "" {
		rel = "alternate" // Atom's default
	}
	it.notMedia = append(it.notMedia, NotMediaLink{Rel: cleanText(rel), URL: cleanText(href), Type: cleanText(t)})
}
