package feeds

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// Normalize turns a feed document into UTF-8 that an XML parser accepts:
// BOM stripped, UTF-16/32 and legacy charsets decoded, the XML declaration
// rewritten to say utf-8, characters illegal in XML 1.0 dropped, and bare
// '&' escaped. contentType is the HTTP Content-Type header, or "".
func Normalize(body []byte, contentType string) ([]byte, error) {
	text, err := decode(body, contentType)
	if err != nil {
		return nil, err
	}
	// A second BOM (seen after transcoding tools) would survive as U+FEFF, and characters XML
	// forbids are dropped later anyway: trimmed here so that neither is left at the start
	// after the other goes (Normalize must give the same bytes when run on its own output).
	for len(text) > 0 {
		r, n := utf8.DecodeRune(text)
		if r != '\uFEFF' && legalXMLRune(r) {
			break
		}
		text = text[n:]
	}
	// JSON Feed: XML repairs would corrupt it ('&' is plain text there).
	if t := bytes.TrimSpace(text); len(t) > 0 && t[0] == '{' {
		return text, nil
	}
	// Illegal characters go first: one inside the declaration could hide its encoding
	// attribute from rewriteDeclaration until a second pass.
	return rewriteDeclaration(fixMarkup(text)), nil
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// decode returns body as UTF-8 with any BOM removed.
func decode(body []byte, contentType string) ([]byte, error) {
	// A UTF-8 BOM settles the encoding; invalid bytes after it still get the
	// windows-1252 repair rather than U+FFFD.
	if rest, ok := bytes.CutPrefix(body, utf8BOM); ok {
		return utf8WithFallback(rest), nil
	}
	if enc, rest := sniffUnicode(body); enc != nil {
		out, err := enc.NewDecoder().Bytes(rest)
		if err != nil {
			return nil, &ParseError{Op: "decode", Err: err}
		}
		return out, nil
	}

	declared := declaredEncoding(body)
	label := httpCharset(contentType)
	if label == "" {
		label = declared
	}
	// A document that is valid UTF-8 with non-ASCII bytes and does not claim
	// another encoding itself is UTF-8, whatever the server's default charset
	// says: Latin-1 text is almost never valid UTF-8 by accident, while servers
	// stamping charset=ISO-8859-1 on UTF-8 feeds is common.
	if label != "" && (declared == "" || isUTF8Label(declared)) && utf8.Valid(body) {
		label = ""
	}
	if label == "" || isUTF8Label(label) {
		return utf8WithFallback(body), nil
	}
	enc, name := charset.Lookup(label)
	// Unknown labels, and UTF-16/32 labels on a document whose bytes we just
	// read as ASCII (so it cannot be UTF-16/32), are treated as UTF-8.
	if enc == nil || name == "utf-8" || strings.HasPrefix(name, "utf-16") {
		return utf8WithFallback(body), nil
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, &ParseError{Op: "decode", Name: name, Err: err}
	}
	return out, nil
}

// sniffUnicode recognises UTF-16/32 by BOM, and UTF-16/32 without BOM by the
// way "<?" or "<" is encoded (XML 1.0 appendix F). It returns nil for
// documents whose bytes are ASCII-compatible.
func sniffUnicode(b []byte) (encoding.Encoding, []byte) {
	switch {
	case bytes.HasPrefix(b, []byte{0x00, 0x00, 0xFE, 0xFF}):
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), b[4:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE, 0x00, 0x00}):
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), b[4:]
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), b[2:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), b[2:]
	case bytes.HasPrefix(b, []byte{0x00, 0x00, 0x00, 0x3C}):
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), b
	case bytes.HasPrefix(b, []byte{0x3C, 0x00, 0x00, 0x00}):
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), b
	case bytes.HasPrefix(b, []byte{0x00, 0x3C}):
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), b
	case bytes.HasPrefix(b, []byte{0x3C, 0x00}):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), b
	}
	return nil, b
}

func isUTF8Label(label string) bool {
	l := strings.ToLower(strings.TrimSpace(label))
	return l == "utf-8" || l == "utf8" || l == "unicode-1-1-utf-8"
}

var declRE = regexp.MustCompile(`^\s*<\?xml[^>]*?>`)
var encAttrRE = regexp.MustCompile(`(encoding\s*=\s*)("[^"]*"|'[^']*')`)

// declaredEncoding returns the encoding named by the XML declaration, or "".
func declaredEncoding(b []byte) string {
	decl := declRE.Find(b)
	if decl == nil {
		return ""
	}
	m := encAttrRE.FindSubmatch(decl)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(string(m[2][1 : len(m[2])-1]))
}

// httpCharset extracts the charset parameter from a Content-Type value. It is
// lenient on purpose (spaces around '=', single quotes) because
// mime.ParseMediaType rejects forms real servers send.
func httpCharset(contentType string) string {
	lower := strings.ToLower(contentType)
	i := strings.Index(lower, "charset")
	if i < 0 {
		return ""
	}
	rest := strings.TrimSpace(lower[i+len("charset"):])
	rest, ok := strings.CutPrefix(rest, "=")
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	if j := strings.IndexAny(rest, ";, "); j >= 0 {
		rest = rest[:j]
	}
	return strings.Trim(rest, `"'`)
}

// utf8WithFallback keeps valid UTF-8 and decodes each byte that is not part
// of a valid sequence as windows-1252, which repairs both pure Latin-1 feeds
// declared as UTF-8 and UTF-8 feeds with a few pasted-in Latin-1 bytes.
func utf8WithFallback(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			r = charmap.Windows1252.DecodeByte(b[0])
		}
		out = utf8.AppendRune(out, r)
		b = b[size:]
	}
	return out
}

// rewriteDeclaration makes the XML declaration say utf-8, since the bytes
// are now UTF-8 whatever they were before.
func rewriteDeclaration(b []byte) []byte {
	loc := declRE.FindIndex(b)
	if loc == nil {
		return b
	}
	decl := b[loc[0]:loc[1]]
	fixed := encAttrRE.ReplaceAll(decl, []byte(`${1}"utf-8"`))
	out := make([]byte, 0, len(b)-len(decl)+len(fixed))
	// Leading whitespace before the declaration is not allowed in XML.
	out = append(out, bytes.TrimLeft(fixed, " \t\r\n")...)
	return append(out, b[loc[1]:]...)
}

// fixMarkup drops characters illegal in XML 1.0, escapes '&' that does not
// start a reference, turns HTML named entities into character references, and
// drops character references to illegal characters. CDATA sections, comments
// and processing instructions are copied without touching their '&'.
func fixMarkup(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '<':
			if end := rawSectionEnd(b, i); end > i {
				writeClean(&out, b[i:end])
				i = end
				continue
			}
			out.WriteByte(c)
			i++
		case c == '&':
			i += writeReference(&out, b[i:])
		case c < utf8.RuneSelf:
			if legalXMLRune(rune(c)) {
				out.WriteByte(c)
			}
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			switch {
			case isC1(r):
				out.WriteRune(demoronize(r))
			case legalXMLRune(r):
				out.Write(b[i : i+size])
			}
			i += size
		}
	}
	return out.Bytes()
}

// rawSectionEnd returns the index after a CDATA section, comment or
// processing instruction starting at b[i], or i if none starts there. An
// unterminated section runs to the end of the input.
func rawSectionEnd(b []byte, i int) int {
	for _, s := range []struct{ open, close string }{
		{"<![CDATA[", "]]>"},
		{"<!--", "-->"},
		{"<?", "?>"},
	} {
		if bytes.HasPrefix(b[i:], []byte(s.open)) {
			j := bytes.Index(b[i+len(s.open):], []byte(s.close))
			if j < 0 {
				return len(b)
			}
			return i + len(s.open) + j + len(s.close)
		}
	}
	return i
}

// writeClean copies b dropping characters illegal in XML and demoronizing.
func writeClean(out *bytes.Buffer, b []byte) {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case isC1(r):
			out.WriteRune(demoronize(r))
		case legalXMLRune(r):
			out.Write(b[:size])
		}
		b = b[size:]
	}
}

var xmlEntities = map[string]bool{"amp": true, "lt": true, "gt": true, "quot": true, "apos": true}

// writeReference handles b, which starts with '&', and returns how many bytes
// of b it consumed.
func writeReference(out *bytes.Buffer, b []byte) int {
	const maxRef = 40 // longest HTML entity name is 31 bytes
	end := bytes.IndexByte(b[:min(len(b), maxRef)], ';')
	if end < 0 {
		out.WriteString("&amp;")
		return 1
	}
	name := string(b[1:end])
	switch {
	case strings.HasPrefix(name, "#x") || strings.HasPrefix(name, "#X"):
		return charRef(out, name[2:], 16, end)
	case strings.HasPrefix(name, "#"):
		return charRef(out, name[1:], 10, end)
	case xmlEntities[name]:
		out.Write(b[:end+1])
		return end + 1
	case isEntityName(name):
		// HTML entities are undefined in XML; replace them by the characters
		// they stand for, as references so no markup character appears.
		if s := html.UnescapeString("&" + name + ";"); s != "&"+name+";" {
			for _, r := range s {
				fmt.Fprintf(out, "&#%d;", r)
			}
			return end + 1
		}
	}
	out.WriteString("&amp;")
	return 1
}

// charRef writes a numeric character reference if it names a legal
// character, drops it if it names an illegal one, and escapes the '&' if the
// number does not parse.
func charRef(out *bytes.Buffer, digits string, base, end int) int {
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil {
		out.WriteString("&amp;")
		return 1
	}
	if n <= utf8.MaxRune && legalXMLRune(rune(n)) {
		fmt.Fprintf(out, "&#%d;", demoronize(rune(n)))
	}
	return end + 1
}

func isEntityName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return true
}

// isC1 reports whether r is a C1 control character. In feeds these are
// nearly always windows-1252 punctuation (curly quotes, dashes) that went
// through a Latin-1 decoder; HTML5 maps &#146; and friends the same way.
func isC1(r rune) bool { return r >= 0x80 && r <= 0x9F }

func demoronize(r rune) rune {
	if isC1(r) {
		return charmap.Windows1252.DecodeByte(byte(r))
	}
	return r
}

// legalXMLRune reports whether r may appear in an XML 1.0 document. U+FFFD is
// legal, so undecodable bytes survive as replacement characters.
func legalXMLRune(r rune) bool {
	switch {
	case r == 0x09 || r == 0x0A || r == 0x0D:
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// cleanText drops characters illegal in XML from parsed text.
func cleanText(s string) string {
	for _, r := range s {
		if !legalXMLRune(r) {
			return strings.Map(func(r rune) rune {
				if legalXMLRune(r) {
					return r
				}
				return -1
			}, s)
		}
	}
	return s
}
