package web

import (
	"bytes"
	"encoding/xml"
	"net/http"

	"github.com/seedcast/seedcast/publisher"
)

// OPML 2.0 (opml.org/spec2.opml): a head with a title, one outline of type rss per feed.
type opmlDoc struct {
	XMLName xml.Name      `xml:"opml"`
	Version string        `xml:"version,attr"`
	Title   string        `xml:"head>title"`
	Outline []opmlOutline `xml:"body>outline"`
}

type opmlOutline struct {
	Type        string `xml:"type,attr"`
	Text        string `xml:"text,attr"`
	Title       string `xml:"title,attr"`
	Description string `xml:"description,attr,omitempty"`
	XMLURL      string `xml:"xmlUrl,attr"`
	HTMLURL     string `xml:"htmlUrl,attr"`
}

// serveOPML lists every podcast of the directory, for a podcatcher to import: the torrent
// feeds, or with ?flavour=podcast the feeds with the original HTTP enclosures.
func (h *Handler) serveOPML(w http.ResponseWriter, r *http.Request) {
	fl, title := publisher.TorrentRSS, "Seedcast directory (torrent feeds)"
	switch r.URL.Query().Get("flavour") {
	case "", "torrent":
	case "podcast":
		fl, title = publisher.PodcastRSS, "Seedcast directory (podcast feeds)"
	default:
		http.Error(w, "flavour is torrent or podcast", http.StatusBadRequest)
		return
	}
	cards, err := h.directory(r)
	if err != nil {
		h.fail(w, r, "opml", err)
		return
	}
	doc := opmlDoc{Version: "2.0", Title: title}
	for _, c := range cards {
		doc.Outline = append(doc.Outline, opmlOutline{Type: "rss", Text: c.Title, Title: c.Title,
			Description: c.Description, XMLURL: h.base() + fl.Path(c.Slug), HTMLURL: h.base() + c.PageURL})
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	// encoding/xml escapes every attribute and writes U+FFFD for what XML cannot carry.
	if err := enc.Encode(doc); err != nil {
		h.fail(w, r, "opml", err)
		return
	}
	b.WriteByte('\n')
	w.Header().Set("Content-Type", "text/x-opml; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="seedcast.opml"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(b.Bytes())
}
