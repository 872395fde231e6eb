package feeds

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/url"
	"strconv"
	"strings"
)

// namespace is a namespace we know by name. Extra fragments write its
// elements with its usual prefix, so output feeds read like their sources.
type namespace struct {
	prefix string
	uri    string   // written in declarations
	alias  []string // other URIs feeds use for it
}

// namespaces lists the namespaces podcast feeds use. An undeclared prefix
// resolves, in encoding/xml, to the prefix itself, so each prefix is also
// recognised as its own URI: feeds that forget the xmlns declaration are
// common.
var namespaces = []namespace{
	{"itunes", "http://www.itunes.com/dtds/podcast-1.0.dtd", []string{"https://www.itunes.com/dtds/podcast-1.0.dtd"}},
	{"podcast", "https://podcastindex.org/namespace/1.0", []string{
		"http://podcastindex.org/namespace/1.0", "https://podcastindex.org/namespace/1.0/",
		"http://podcastindex.org/namespace/1.0/",
		"https://github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"}},
	{"content", "http://purl.org/rss/1.0/modules/content/", nil},
	{"atom", "http://www.w3.org/2005/Atom", nil},
	{"media", "http://search.yahoo.com/mrss/", []string{"http://search.yahoo.com/mrss"}},
	{"psc", "http://podlove.org/simple-chapters", []string{"http://podlove.org/simple-chapters/"}},
	{"dc", "http://purl.org/dc/elements/1.1/", nil},
	{"dcterms", "http://purl.org/dc/terms/", nil},
	{"googleplay", "http://www.google.com/schemas/play-podcasts/1.0", nil},
	{"sy", "http://purl.org/rss/1.0/modules/syndication/", nil},
	{"slash", "http://purl.org/rss/1.0/modules/slash/", nil},
	{"wfw", "http://wellformedweb.org/CommentAPI/", nil},
	{"georss", "http://www.georss.org/georss", nil},
	{"cc", "http://web.resource.org/cc/", nil},
	{"creativeCommons", "http://backend.userland.com/creativeCommonsRssModule", nil},
	{"rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#", nil},
	{"fyyd", "https://fyyd.de/fyyd-ns/", nil},
	{"spotify", "http://www.spotify.com/ns/rss", nil},
	{"rawvoice", "http://www.rawvoice.com/rawvoiceRssModule/", nil},
}

// rootPrefixes are the prefixes the publisher declares on its <rss> root;
// Extra fragments use them without declaring them. Every other namespace is
// declared inside the fragment.
var rootPrefixes = map[string]string{
	"itunes":  "http://www.itunes.com/dtds/podcast-1.0.dtd",
	"podcast": "https://podcastindex.org/namespace/1.0",
	"content": "http://purl.org/rss/1.0/modules/content/",
	"atom":    "http://www.w3.org/2005/Atom",
}

const xmlSpace = "http://www.w3.org/XML/1998/namespace"

// lookupSpace returns the known namespace of a resolved element or
// attribute namespace.
func lookupSpace(space string) (namespace, bool) {
	s := strings.TrimSpace(space)
	for _, ns := range namespaces {
		if s == ns.prefix || strings.EqualFold(s, ns.uri) {
			return ns, true
		}
		for _, a := range ns.alias {
			if strings.EqualFold(s, a) {
				return ns, true
			}
		}
	}
	return namespace{}, false
}

// prefixFor returns the usual prefix of a known namespace, or "".
func prefixFor(space string) string {
	ns, _ := lookupSpace(space)
	return ns.prefix
}

// scanResult is what gofeed does not give us: namespaced extension elements
// in source order with their namespaces resolved, xml:base, and guid
// isPermaLink.
type scanResult struct {
	channel  itemScan
	podGUID  string
	locked   bool
	newURL   string
	verify   verifyTokens
	self     string      // the channel's atom:link rel="self"
	hub      string      // the channel's atom:link rel="hub" (WebSub)
	chItems  []*itemScan // items inside channel, then
	rootItem []*itemScan // items directly under the root (RSS 1.0), as gofeed orders them
}

// channelLink notes the channel's self and WebSub hub links (the first of each) and reports
// whether the link was one of them.
func (s *scanResult) channelLink(rel, href, base string) bool {
	href = strings.TrimSpace(href)
	var dst *string
	switch strings.ToLower(strings.TrimSpace(rel)) {
	case "self":
		dst = &s.self
	case "hub":
		dst = &s.hub
	default:
		return false
	}
	if *dst == "" && href != "" {
		*dst = cleanText(resolve(base, href))
	}
	return true
}

// attr is the value of t's attribute local (without a namespace), or "".
func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

type itemScan struct {
	extra        strings.Builder
	base         string
	guidSeen     bool
	guidLink     bool
	encBases     []string
	renditions   []Enclosure       // podcast:alternateEnclosure of the item, each to become a torrent
	atomEncs     []Enclosure       // atom:link rel="enclosure" of an RSS item (Podlove writes these), or an Atom entry's link gofeed misses
	renditionAt  map[string]string // rendition URL -> its descriptive attributes, encoded
	notMedia     []NotMediaLink    // audio/video links whose rel is not enclosure
	itunesAuthor string
	itunesImage  string
}

func (s *scanResult) items() []*itemScan {
	return append(append([]*itemScan(nil), s.chItems...), s.rootItem...)
}

type role int

const (
	roleOther role = iota
	roleRoot
	roleChannel
	roleItem
)

type frame struct {
	role  role
	space string
	base  string
}

// maxDepth bounds element nesting. gofeed parses extension elements
// recursively, and a deep enough document exhausts the goroutine stack, which
// is a fatal error that recover cannot catch.
const maxDepth = 512

var errTooDeep = fmt.Errorf("elements nested deeper than %d", maxDepth)

// scan walks a normalised document once. Apart from errTooDeep it does not
// fail: on a syntax error it returns what it collected, and Parse only trusts
// per-item data when the item count agrees with gofeed's.
func scan(body []byte, feedURL string) (*scanResult, error) {
	res := &scanResult{}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }

	var (
		stack   []frame
		capt    *capture
		owner   *itemScan // item being read, nil outside items
		atomDoc bool
	)
	for {
		tok, err := d.Token()
		if err != nil {
			return res, nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, errTooDeep
			}
			base := feedURL
			if len(stack) > 0 {
				base = stack[len(stack)-1].base
			}
			for _, a := range t.Attr {
				if (a.Name.Space == xmlSpace || a.Name.Space == "xml") && a.Name.Local == "base" {
					base = resolve(base, a.Value)
				}
			}
			if capt != nil {
				capt.start(t)
				stack = append(stack, frame{role: roleOther, base: base})
				continue
			}
			f := frame{role: roleOther, space: t.Name.Space, base: base}
			var parent frame
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			local := t.Name.Local
			// The feed's own elements: no namespace or an RSS 0.9/1.0 one,
			// or Atom's when the document is Atom.
			core := prefixFor(t.Name.Space) == "" || (atomDoc && prefixFor(t.Name.Space) == "atom")
			switch {
			case len(stack) == 0:
				f.role = roleRoot
				if strings.EqualFold(local, "feed") {
					f.role = roleChannel // Atom: the root is the channel
					atomDoc = true
				}
				res.channel.base = base
			case core && parent.role == roleRoot && strings.EqualFold(local, "channel"):
				f.role = roleChannel
				res.channel.base = base
			case core && (parent.role == roleChannel || parent.role == roleRoot) &&
				(strings.EqualFold(local, "item") || strings.EqualFold(local, "entry")):
				f.role = roleItem
				owner = &itemScan{base: base}
				if parent.role == roleChannel {
					res.chItems = append(res.chItems, owner)
				} else {
					res.rootItem = append(res.rootItem, owner)
				}
			case parent.role == roleItem && t.Name.Space == parent.space && strings.EqualFold(local, "guid"):
				owner.guidSeen = true
				owner.guidLink = true // RSS 2.0: isPermaLink defaults to true
				for _, a := range t.Attr {
					if strings.EqualFold(a.Name.Local, "isPermaLink") {
						owner.guidLink = !strings.EqualFold(strings.TrimSpace(a.Value), "false")
					}
				}
			case parent.role == roleItem && t.Name.Space == parent.space && strings.EqualFold(local, "enclosure"):
				owner.encBases = append(owner.encBases, base)
			case atomDoc && core && parent.role == roleChannel && strings.EqualFold(local, "link"):
				res.channelLink(attr(t, "rel"), attr(t, "href"), base)
			case atomDoc && core && parent.role == roleItem && strings.EqualFold(local, "link"):
				owner.atomEntryLink(t, base)
			case (parent.role == roleChannel || parent.role == roleItem) && isNCName(local) &&
				!(core && (atomDoc || replaced(parent.role == roleItem, local))):
				capt = newCapture(t, parent.space)
			}
			stack = append(stack, f)
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if capt != nil {
				if capt.end() {
					continue
				}
				target := owner
				if target == nil {
					target = &res.channel
				}
				res.finish(capt, target, target == &res.channel)
				capt = nil
				continue
			}
			if top.role == roleItem {
				owner = nil
			}
		case xml.CharData:
			if capt != nil {
				capt.text(t)
			}
		}
	}
}

// replaced reports whether a core RSS element is one the publisher writes
// itself (from the parsed fields), so copying it would duplicate it. Atom
// documents keep none of their core elements: gofeed maps them.
func replaced(inItem bool, local string) bool {
	switch strings.ToLower(local) {
	case "title", "link", "description", "pubdate":
		return true
	}
	if inItem {
		switch strings.ToLower(local) {
		case "author", "guid", "enclosure":
			return true
		}
		return false
	}
	switch strings.ToLower(local) {
	case "language", "copyright", "lastbuilddate", "generator", "image", "items", "item":
		return true
	}
	return false
}

// finish files a completed element under its owner, picking out the few
// values Parse needs and leaving out what the output replaces.
func (s *scanResult) finish(c *capture, owner *itemScan, isChannel bool) {
	local := c.rootLocal
	text := c.rootText.String()
	switch c.prefix + ":" + strings.ToLower(local) {
	case "podcast:guid":
		if isChannel {
			// Copied unchanged into our own podcast:guid by the publisher.
			s.podGUID = strings.TrimSpace(text)
			return
		}
	case "itunes:new-feed-url":
		if isChannel {
			// Republishing it would move listeners off the torrent feed.
			s.newURL = strings.TrimSpace(text)
			return
		}
	case "atom:link":
		if isChannel {
			// The publisher writes its own self and hub links, pointing at the gateway and the
			// operator's hub: the source's hub serves the source's topic, not ours.
			if s.channelLink(c.rootAttr("rel"), c.rootAttr("href"), s.channel.base) {
				return
			}
		}
		if !isChannel && owner.rssItemLink(c) {
			return // the publisher writes an <enclosure> for it instead
		}
	case "content:encoded":
		if !isChannel {
			return // Item.Content; the publisher writes it
		}
	case "podcast:alternateenclosure":
		if !isChannel {
			// Each rendition becomes its own torrent under the item, and the
			// publisher writes an alternateEnclosure for it; one that cannot
			// be fetched over http(s) (HLS, IPFS, a torrent) stays as it was.
			if r, ok := rendition(c, owner.base); ok {
				owner.renditions = append(owner.renditions, r)
				if attrs := renditionAttrs(c); attrs != "" {
					if owner.renditionAt == nil {
						owner.renditionAt = map[string]string{}
					}
					owner.renditionAt[r.URL] = attrs
				}
				return
			}
		}
	case "podcast:txt":
		if isChannel {
			// Read for verification, and still copied through Extra.
			s.verify.add(c, text)
		}
	case "podcast:podping":
		if isChannel {
			return // the source's Podping announces the source's URL, not ours (see push)
		}
	case "podcast:locked":
		if isChannel {
			s.locked = strings.EqualFold(strings.TrimSpace(text), "yes")
		}
	case "itunes:author":
		if owner.itunesAuthor == "" {
			owner.itunesAuthor = strings.TrimSpace(cleanText(text))
		}
	case "itunes:image":
		if owner.itunesImage == "" {
			owner.itunesImage = strings.TrimSpace(c.rootAttr("href"))
		}
	}
	owner.extra.WriteString(c.buf.String())
}

// capture re-serialises one element and its subtree. Everything is escaped
// with encoding/xml, so the fragment is well-formed whatever the source held,
// and every namespace other than the publisher's root ones is declared inside
// the fragment, so it stays namespace-well-formed on its own.
type capture struct {
	prefix    string // known prefix of the captured element, "" if none
	core      string // the feed's own namespace, written as no namespace
	rootLocal string
	rootAttrs []xml.Attr
	rootText  strings.Builder
	buf       strings.Builder
	open      []scope
	skip      int // depth inside a dropped subtree
}

// scope is the output state of one open element.
type scope struct {
	name string
	def  string            // default namespace in effect
	decl map[string]string // prefixes declared in the fragment so far, prefix → URI
}

func newCapture(t xml.StartElement, core string) *capture {
	c := &capture{prefix: prefixFor(t.Name.Space), core: core, rootLocal: t.Name.Local, rootAttrs: t.Attr}
	if c.prefix == "podcast" && strings.EqualFold(t.Name.Local, "alternateEnclosure") {
		// The source's renditions are kept, but the publisher's own
		// alternateEnclosure is the default one.
		c.dropRootAttr("default")
	}
	c.start(xml.StartElement{Name: t.Name, Attr: c.rootAttrs})
	return c
}

func (c *capture) dropRootAttr(local string) {
	var kept []xml.Attr
	for _, a := range c.rootAttrs {
		if a.Name.Space == "" && strings.EqualFold(a.Name.Local, local) {
			continue
		}
		kept = append(kept, a)
	}
	c.rootAttrs = kept
}

func (c *capture) rootAttr(local string) string {
	for _, a := range c.rootAttrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func (c *capture) start(t xml.StartElement) {
	if c.skip > 0 || !isNCName(t.Name.Local) {
		c.skip++
		return
	}
	var cur scope
	if n := len(c.open); n > 0 {
		cur = c.open[n-1]
	}
	var decls [][2]string // namespace declarations to write on this element
	bind := func(prefix, uri string) {
		if rootPrefixes[prefix] == uri || cur.decl[prefix] == uri {
			return
		}
		cur.decl = maps.Clone(cur.decl)
		if cur.decl == nil {
			cur.decl = map[string]string{}
		}
		cur.decl[prefix] = uri
		decls = append(decls, [2]string{"xmlns:" + prefix, uri})
	}

	name := t.Name.Local
	ns, known := lookupSpace(t.Name.Space)
	switch {
	case t.Name.Space == "" || t.Name.Space == c.core:
		if cur.def != "" {
			cur.def = ""
			decls = append(decls, [2]string{"xmlns", ""})
		}
	case known:
		bind(ns.prefix, ns.uri)
		name = ns.prefix + ":" + name
	case undeclaredPrefix(t.Name.Space):
		// An unbound prefix: keep it and bind it, so the output is
		// namespace-well-formed and readers still see the prefix.
		bind(t.Name.Space, undeclaredURI+t.Name.Space)
		name = t.Name.Space + ":" + name
	default:
		if cur.def != t.Name.Space {
			cur.def = t.Name.Space
			decls = append(decls, [2]string{"xmlns", t.Name.Space})
		}
	}

	var attrs [][2]string
	seen := map[string]bool{}
	for _, a := range t.Attr {
		if !isNCName(a.Name.Local) {
			continue
		}
		var n string
		switch {
		case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns"):
			continue // declarations are redone above
		case a.Name.Space == "":
			n = a.Name.Local
		case a.Name.Space == xmlSpace || a.Name.Space == "xml":
			n = "xml:" + a.Name.Local
		default:
			if ans, ok := lookupSpace(a.Name.Space); ok {
				bind(ans.prefix, ans.uri)
				n = ans.prefix + ":" + a.Name.Local
			} else if undeclaredPrefix(a.Name.Space) {
				bind(a.Name.Space, undeclaredURI+a.Name.Space)
				n = a.Name.Space + ":" + a.Name.Local
			} else {
				p := cur.prefixOf(a.Name.Space)
				bind(p, a.Name.Space)
				n = p + ":" + a.Name.Local
			}
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		attrs = append(attrs, [2]string{n, a.Value})
	}

	cur.name = name
	c.open = append(c.open, cur)
	c.buf.WriteString("<" + name)
	for _, d := range decls {
		c.writeAttr(d[0], d[1])
	}
	for _, a := range attrs {
		c.writeAttr(a[0], a[1])
	}
	c.buf.WriteString(">")
}

// undeclaredURI names the namespace of a prefix the source used without
// declaring it.
const undeclaredURI = "urn:x-undeclared-prefix:"

// undeclaredPrefix reports whether a resolved namespace is really a prefix
// the source never bound: encoding/xml leaves the prefix there, and a
// namespace URI always holds a colon.
func undeclaredPrefix(space string) bool {
	return !strings.Contains(space, ":") && isNCName(space) && !strings.HasPrefix(strings.ToLower(space), "xml")
}

// prefixOf returns the prefix bound to an unknown namespace in this scope,
// or a fresh one: attributes cannot use a default namespace.
func (s scope) prefixOf(uri string) string {
	for p, u := range s.decl {
		if u == uri && strings.HasPrefix(p, "ns") {
			return p
		}
	}
	for i := 1; ; i++ {
		p := "ns" + strconv.Itoa(i)
		if _, taken := s.decl[p]; !taken {
			return p
		}
	}
}

// end closes the current element and reports whether the capture is still
// open.
func (c *capture) end() bool {
	if c.skip > 0 {
		c.skip--
		return true
	}
	n := len(c.open)
	c.buf.WriteString("</" + c.open[n-1].name + ">")
	c.open = c.open[:n-1]
	return len(c.open) > 0
}

func (c *capture) text(t xml.CharData) {
	if c.skip > 0 || len(bytes.TrimSpace(t)) == 0 {
		return
	}
	if len(c.open) == 1 {
		c.rootText.Write(t)
	}
	xml.EscapeText(&c.buf, []byte(cleanText(string(t))))
}

func (c *capture) writeAttr(name, value string) {
	c.buf.WriteString(" " + name + `="`)
	xml.EscapeText(&c.buf, []byte(cleanText(value)))
	c.buf.WriteString(`"`)
}

// isNCName reports whether s is a name without a colon, checked conservatively
// (ASCII rules plus any non-ASCII letter-ish rune) so output stays parseable.
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
		case i > 0 && (r == '-' || r == '.' || (r >= '0' && r <= '9')):
		case r >= 0xC0 && r <= 0x2FF, r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF,
			r >= 0x3001 && r <= 0xD7FF, r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD:
		default:
			return false
		}
	}
	return true
}

// resolve resolves ref against base, returning ref unchanged when either does
// not parse or base is empty.
func resolve(base, ref string) string {
	ref = strings.TrimSpace(ref)
	if base == "" {
		return ref
	}
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}

// rendition reads a captured podcast:alternateEnclosure: its type and length,
// and its first http(s) podcast:source that is plain media.
func rendition(c *capture, base string) (Enclosure, bool) {
	typ := strings.TrimSpace(c.rootAttr("type"))
	lt := strings.ToLower(typ)
	if typ == "" || strings.Contains(lt, "mpegurl") || strings.Contains(lt, "bittorrent") || strings.Contains(lt, "dash") {
		return Enclosure{}, false
	}
	dec := xml.NewDecoder(strings.NewReader(c.buf.String()))
	dec.Strict = false
	for {
		tok, err := dec.Token()
		if err != nil {
			return Enclosure{}, false
		}
		se, ok := tok.(xml.StartElement)
		if !ok || !strings.EqualFold(se.Name.Local, "source") {
			continue
		}
		var uri, ct string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "uri":
				uri = strings.TrimSpace(a.Value)
			case "contentType":
				ct = strings.ToLower(a.Value)
			}
		}
		u := resolve(base, uri)
		if ct != "" && ct != lt {
			continue // e.g. a .torrent or playlist offered for the same rendition
		}
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			return Enclosure{URL: cleanText(u), Type: cleanText(typ), Length: parseLength(c.rootAttr("length"))}, true
		}
	}
}

// renditionAttrNames are the podcast:alternateEnclosure attributes that
// describe a rendition (type, length and default are the publisher's own).
var renditionAttrNames = []string{"bitrate", "height", "lang", "title", "rel", "codecs"}

// renditionAttrs encodes a rendition's descriptive attributes as a query
// string, so apps choosing between renditions keep what the source told them.
func renditionAttrs(c *capture) string {
	v := url.Values{}
	for _, name := range renditionAttrNames {
		if a := strings.TrimSpace(cleanText(c.rootAttr(name))); a != "" {
			v.Set(name, a)
		}
	}
	return v.Encode()
}
