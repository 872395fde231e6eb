package feeds

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"time"
)

// ParseNewest is Parse for a feed cut to its max newest items (max <= 0: all).
// A feed with more items is cut in its bytes first, by a streaming pass that
// keeps only each item's offsets and date, so a feed of 600,000 tiny items
// never becomes 600,000 parsed items (gofeed's tree of them took 1.4 GB).
func ParseNewest(body []byte, feedURL string, max int) (*Feed, error) {
	total := 0
	if max > 0 {
		if norm, err := Normalize(body, ""); err == nil {
			body, total = trimItems(norm, max)
		}
	}
	f, err := Parse(body, feedURL)
	if err != nil {
		return nil, err
	}
	if total > max && len(f.Items) <= max {
		f.Omitted = total - len(f.Items)
		f.Warnings = append(f.Warnings, OmittedWarning(f.Omitted, total, max))
		return f, nil
	}
	f.KeepNewest(max) // the byte pass found no more than max, or did not match the parser's view
	return f, nil
}

// itemSpan is one <item> or <entry> of a feed: its bytes and its date.
type itemSpan struct {
	start, end int64
	date       time.Time
}

// trimItems returns body without all but its max newest items (the rule of
// KeepNewest), and how many items it had. A body it cannot read is returned
// whole, for Parse to report on.
func trimItems(body []byte, max int) ([]byte, int) {
	spans, ok := itemSpans(body)
	if !ok || len(spans) <= max {
		return body, len(spans)
	}
	keep := newest(len(spans), max, func(i int) time.Time { return spans[i].date })
	out := make([]byte, 0, len(body))
	at := int64(0)
	for i, s := range spans {
		out = append(out, body[at:s.start]...)
		if keep[i] {
			out = append(out, body[s.start:s.end]...)
		}
		at = s.end
	}
	return append(out, body[at:]...), len(spans)
}

// itemSpans finds the top-level items of an RSS (channel/item, or RDF item)
// or Atom (feed/entry) document with their dates, holding nothing else.
func itemSpans(body []byte) ([]itemSpan, bool) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil } // Normalize made it UTF-8
	var spans []itemSpan
	depth, itemDepth := 0, 0
	var cur itemSpan
	var dateText strings.Builder
	inDate := false
	for {
		off := d.InputOffset()
		tok, err := d.RawToken()
		if err != nil {
			return spans, err == io.EOF
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			name := strings.ToLower(t.Name.Local)
			if itemDepth == 0 && (name == "item" || name == "entry") && depth <= 3 {
				itemDepth, cur = depth, itemSpan{start: off}
			} else if itemDepth != 0 && depth == itemDepth+1 && cur.date.IsZero() &&
				(name == "pubdate" || name == "published" || name == "updated" || name == "date") {
				inDate = true
				dateText.Reset()
			}
		case xml.EndElement:
			if itemDepth != 0 && depth == itemDepth {
				cur.end = d.InputOffset()
				spans = append(spans, cur)
				itemDepth = 0
			} else if inDate {
				cur.date, inDate = parseDate(dateText.String()), false
			}
			depth--
		case xml.CharData:
			if inDate && dateText.Len() < 100 {
				dateText.Write(t)
			}
		}
	}
}

// dateLayouts are the date forms feeds use (RFC 822 and its variants, RFC 3339).
var dateLayouts = []string{time.RFC1123Z, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST", "2 Jan 2006 15:04:05 -0700", time.RFC3339, time.RFC3339Nano,
	"Mon, 02 Jan 06 15:04:05 -0700", "2006-01-02"}

func parseDate(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}
