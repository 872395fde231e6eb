package web

import (
	"html"
	"html/template"
	"strings"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
)

// maxNotes caps the show notes read (bytes): the sanitiser's work and the page's size stay
// bounded whatever a feed carries.
const maxNotes = 256 << 10

// notesPolicy is the allow-list show notes go through: text structure and links, nothing that
// runs, styles or loads. No images either: they would be fetched from strangers' hosts
// (and the page's CSP allows only its own).
type notesPolicy struct {
	html, text *bluemonday.Policy
}

func newNotesPolicy() *notesPolicy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "hr", "b", "strong", "i", "em", "u", "s", "del", "ins", "small", "sub", "sup",
		"ul", "ol", "li", "dl", "dt", "dd", "blockquote", "pre", "code", "h3", "h4", "h5", "h6", "span", "div")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true) // and rel="noopener"
	// h1 and h2 belong to the page: the notes' keep their text only.
	return &notesPolicy{html: p, text: bluemonday.StrictPolicy()}
}

// sanitize makes show notes safe to insert as HTML. plain says they had no markup at all, so
// the page keeps their line breaks.
func (n *notesPolicy) sanitize(notes string) (out template.HTML, plain bool) {
	notes = truncate(strings.ToValidUTF8(notes, "\uFFFD"), maxNotes)
	if !strings.ContainsAny(notes, "<&") {
		return template.HTML(template.HTMLEscapeString(strings.TrimSpace(notes))), true
	}
	return template.HTML(n.html.Sanitize(notes)), false // the allow-list's output: the only unescaped HTML on a page
}

// plain is HTML s as text (markup dropped, entities decoded), on one line, cut to max runes:
// for descriptions shown as text (html/template escapes it).
func (n *notesPolicy) plain(s string, max int) string {
	s = truncate(strings.ToValidUTF8(s, "\uFFFD"), maxNotes)
	if strings.ContainsAny(s, "<&") {
		s = html.UnescapeString(n.text.Sanitize(s))
	}
	return oneLine(s, max)
}

// oneLine is text s (a title, a name: never parsed as HTML, so "<Talk>" stays) with its
// whitespace collapsed, cut to max runes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(truncate(s, 4*max), "\uFFFD")), " ")
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return s
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
