package feeds

import (
	"fmt"
	"strings"
	"testing"
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
