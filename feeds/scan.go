package feeds

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Namespaces as resolved by encoding/xml. An undeclared prefix resolves to
// the prefix itself, which is why "itunes" and "podcast" are listed too:
// feeds that forget the xmlns declaration are common.
var (
	itunesSpaces = map[string]bool{
		"itunes": true,
		"http://www.itunes.com/dtds/podcast-1.0.dtd":  true,
		"https://www.itunes.com/dtds/podcast-1.0.dtd": true,
	}
	podcastSpaces = map[string]bool{
		"podcast":                                 true,
		"https://podcastindex.org/namespace/1.0":  true,
		"http://podcastindex.org/namespace/1.0":   true,
		"https://podcastindex.org/namespace/1.0/": true,
		"http://podcastindex.org/namespace/1.0/":  true,
		"https://github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md": true,
	}
)

const xmlSpace = "http://www.w3.org/XML/1998/namespace"

// prefixFor returns "itunes" or "podcast" for elements we copy into Extra.
func prefixFor(space string) string {
	s := strings.ToLower(strings.TrimSpace(space))
	switch {
	case itunesSpaces[s]:
		return "itunes"
	case podcastSpaces[s]:
		return "podcast"
	}
	return ""
}

// scanResult is what gofeed does not give us: namespaced extension elements
// in source order with their namespaces resolved, xml:base, and guid
// isPermaLink.
type scanResult struct {
	channel  itemScan
	podGUID  string
	locked   bool
	newURL   string
	chItems  []*itemScan // items inside channel, then
	rootItem []*itemScan // items directly under the root (RSS 1.0), as gofeed orders them
}

type itemScan struct {
	extra        strings.Builder
	base         string
	guidSeen     bool
	guidLink     bool
	encBases     []string
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
		stack []frame
		capt  *capture
		owner *itemScan // item being read, nil outside items
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
			pfx := prefixFor(t.Name.Space)
			switch {
			case len(stack) == 0:
				f.role = roleRoot
				if strings.EqualFold(local, "feed") {
					f.role = roleChannel // Atom: the root is the channel
				}
				res.channel.base = base
			case pfx == "" && parent.role == roleRoot && strings.EqualFold(local, "channel"):
				f.role = roleChannel
				res.channel.base = base
			case pfx == "" && (parent.role == roleChannel || parent.role == roleRoot) &&
				(strings.EqualFold(local, "item") || strings.EqualFold(local, "entry")):
				f.role = roleItem
				owner = &itemScan{base: base}
				if parent.role == roleChannel {
					res.chItems = append(res.chItems, owner)
				} else {
					res.rootItem = append(res.rootItem, owner)
				}
			case pfx != "" && (parent.role == roleChannel || parent.role == roleItem) && isNCName(local):
				capt = newCapture(t, pfx)
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

// finish files a completed extension element under its owner, picking out
// the few values Parse needs and leaving out what the output replaces.
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
	case "podcast:alternateenclosure":
		if !isChannel {
			return // the publisher writes its own
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

// capture re-serialises one extension element and its subtree. Everything is
// escaped with encoding/xml, so the fragment is well-formed whatever the
// source held; children in other namespaces get an xmlns declaration.
type capture struct {
	prefix    string
	rootLocal string
	rootAttrs []xml.Attr
	rootText  strings.Builder
	buf       strings.Builder
	names     []string // output names of open elements
	defaults  []string // default namespace in effect in the output, per open element
	skip      int      // depth inside a dropped subtree
}

func newCapture(t xml.StartElement, prefix string) *capture {
	c := &capture{prefix: prefix, rootLocal: t.Name.Local, rootAttrs: t.Attr}
	c.start(t)
	return c
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
	def := ""
	if n := len(c.defaults); n > 0 {
		def = c.defaults[n-1]
	}
	name := t.Name.Local
	declare := false
	if p := prefixFor(t.Name.Space); p != "" {
		name = p + ":" + name
	} else if t.Name.Space != def {
		def = t.Name.Space
		declare = true
	}
	c.names = append(c.names, name)
	c.defaults = append(c.defaults, def)

	c.buf.WriteString("<" + name)
	if declare {
		c.writeAttr("xmlns", def)
	}
	seen := map[string]bool{}
	for _, a := range t.Attr {
		n := attrName(a.Name)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		c.writeAttr(n, a.Value)
	}
	c.buf.WriteString(">")
}

// end closes the current element and reports whether the capture is still
// open.
func (c *capture) end() bool {
	if c.skip > 0 {
		c.skip--
		return true
	}
	n := len(c.names)
	c.buf.WriteString("</" + c.names[n-1] + ">")
	c.names = c.names[:n-1]
	c.defaults = c.defaults[:n-1]
	return len(c.names) > 0
}

func (c *capture) text(t xml.CharData) {
	if c.skip > 0 || len(bytes.TrimSpace(t)) == 0 {
		return
	}
	if len(c.names) == 1 {
		c.rootText.Write(t)
	}
	xml.EscapeText(&c.buf, []byte(cleanText(string(t))))
}

func (c *capture) writeAttr(name, value string) {
	c.buf.WriteString(" " + name + `="`)
	xml.EscapeText(&c.buf, []byte(cleanText(value)))
	c.buf.WriteString(`"`)
}

// attrName returns the output name of an attribute, or "" to drop it:
// namespace declarations are redone by us, and attributes in namespaces
// other than ours and xml: would need declarations we do not write.
func attrName(n xml.Name) string {
	if !isNCName(n.Local) {
		return ""
	}
	switch {
	case n.Space == "xmlns" || (n.Space == "" && n.Local == "xmlns"):
		return ""
	case n.Space == "":
		return n.Local
	case n.Space == xmlSpace || n.Space == "xml":
		return "xml:" + n.Local
	}
	if p := prefixFor(n.Space); p != "" {
		return p + ":" + n.Local
	}
	return ""
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
