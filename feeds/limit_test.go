package feeds

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestKeepNewest(t *testing.T) {
	// Items out of date order, two without a date: the newest three dated ones are kept, in source order.
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>`)
	days := []int{3, 9, 0, 5, 7, 0, 1}
	for i, d := range days {
		fmt.Fprintf(&b, `<item><guid>g%d</guid><title>I%d</title>`, i, i)
		if d > 0 {
			fmt.Fprintf(&b, `<pubDate>Mon, 0%d Nov 2026 10:00:00 +0000</pubDate>`, d)
		}
		b.WriteString(`</item>`)
	}
	b.WriteString(`</channel></rss>`)
	f, err := Parse([]byte(b.String()), "http://example.com/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	if n := f.KeepNewest(3); n != 4 {
		t.Fatalf("omitted = %d, want 4", n)
	}
	var got []string
	for _, it := range f.Items {
		got = append(got, it.GUID)
	}
	if strings.Join(got, ",") != "g1,g3,g4" {
		t.Fatalf("kept %v, want g1,g3,g4 (days 9, 5, 7 in source order)", got)
	}
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], "4 of 7 items left out") ||
		!strings.Contains(f.Warnings[0], "fetch.max_items is 3") {
		t.Fatalf("warnings = %q", f.Warnings)
	}

	// Undated items are the oldest; among them the earlier in the feed is newer.
	f, _ = Parse([]byte(b.String()), "http://example.com/feed.xml")
	f.KeepNewest(6)
	for _, it := range f.Items {
		if it.GUID == "g5" {
			t.Fatalf("kept the last undated item g5 over g2: %+v", f.Items)
		}
	}
	if f.KeepNewest(100) != 0 || len(f.Items) != 6 {
		t.Fatal("a feed within the cap must be left alone")
	}
}

// ParseNewest cuts a feed in its bytes before parsing and keeps exactly what
// Parse followed by KeepNewest keeps, RSS and Atom alike.
func TestParseNewestMatchesKeepNewest(t *testing.T) {
	var rss, atom strings.Builder
	rss.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>`)
	atom.WriteString(`<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>`)
	for i := range 40 {
		n := (i * 7) % 40 // shuffled; every fifth undated
		fmt.Fprintf(&rss, "\n<item><guid>g%d</guid><title>I%d</title>", n, n)
		fmt.Fprintf(&atom, "\n<entry><id>g%d</id><title>I%d</title>", n, n)
		if n%5 != 4 {
			d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(n) * time.Hour)
			fmt.Fprintf(&rss, "<pubDate>%s</pubDate>", d.Format(time.RFC1123Z))
			fmt.Fprintf(&atom, "<updated>%s</updated>", d.Format(time.RFC3339))
		}
		rss.WriteString("</item>")
		atom.WriteString("</entry>")
	}
	rss.WriteString("\n</channel></rss>")
	atom.WriteString("\n</feed>")
	for name, body := range map[string]string{"rss": rss.String(), "atom": atom.String()} {
		want, err := Parse([]byte(body), "http://example.com/feed.xml")
		if err != nil {
			t.Fatal(err)
		}
		want.KeepNewest(25)
		got, err := ParseNewest([]byte(body), "http://example.com/feed.xml", 25)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Items) != 25 || got.Omitted != 15 || len(got.Warnings) != 1 || got.Warnings[0] != want.Warnings[0] {
			t.Fatalf("%s: %d items, %d omitted, warnings %q; want 25, 15, %q", name, len(got.Items), got.Omitted, got.Warnings, want.Warnings)
		}
		for i := range want.Items {
			if got.Items[i].GUID != want.Items[i].GUID {
				t.Fatalf("%s: item %d is %q, want %q", name, i, got.Items[i].GUID, want.Items[i].GUID)
			}
		}
	}
}
