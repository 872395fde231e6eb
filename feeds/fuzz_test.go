package feeds

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

func addSeeds(f *testing.F) {
	for _, name := range []string{
		"podcast-namespace/example.xml",
		"podcastparser/itunes_categories.rss",
		"podcastparser/relative.rss",
		"feedparser/encoding__utf-16le.xml",
		"feedparser/encoding__euc-kr.xml",
		"feedparser/encoding__demoronize-1.xml",
		"../../feeds/testdata/atomenc/podlove.rss",
		"../../feeds/testdata/atomenc/entries.atom",
	} {
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
	}
	f.Add([]byte(`<rss><channel><itunes:x a="&" a="2"><p:y>&#0;&amp</p:y></itunes:x><item><podcast:z/></item></channel></rss>`), "text/xml; charset=windows-1252")
	f.Add([]byte("<?xml version='1.0' encoding='utf-16'?><rss/>"), "")
	f.Add([]byte{0xFF, 0xFE, '<', 0, 'r', 0}, "")
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><entry><itunes:duration>1</itunes:duration></entry></feed>`), "")
}

func FuzzNormalize(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		out, err := Normalize(body, contentType)
		if err != nil {
			return
		}
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		if t := bytes.TrimSpace(out); len(t) > 0 && t[0] == '{' {
			return // JSON is passed through
		}
		for _, r := range string(out) {
			if !legalXMLRune(r) {
				t.Fatalf("illegal character %U in %q", r, out)
			}
		}
		again, err := Normalize(out, "")
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %v\n%q\n%q", err, out, again)
		}
	})
}

func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		norm, err := Normalize(body, contentType)
		if err != nil {
			return
		}
		feed, err := Parse(norm, "https://example.org/feed.xml")
		if err != nil {
			return
		}
		checkFeed(t, "fuzz", feed)
	})
}
