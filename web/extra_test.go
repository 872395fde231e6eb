package web

import (
	"strings"
	"testing"
	"time"
)

func TestParseExtra(t *testing.T) {
	for _, tc := range []struct {
		frag, duration, sha string
		chapters, trans     int
	}{
		{`<itunes:duration>3723</itunes:duration>`, "1:02:03", "", 0, 0},
		{`<itunes:duration> 62:03 </itunes:duration>`, "1:02:03", "", 0, 0},
		{`<itunes:duration>0:05:09</itunes:duration>`, "5:09", "", 0, 0},
		{`<itunes:duration>905.6</itunes:duration>`, "15:05", "", 0, 0},
		{`<itunes:duration>an hour</itunes:duration>`, "", "", 0, 0},
		{`<itunes:duration>1:2:3:4</itunes:duration>`, "", "", 0, 0},
		// Entities and a declared namespace of its own are read; links need http or https.
		{`<podcast:chapters xmlns:podcast="https://podcastindex.org/namespace/1.0" url="https://e.example/c.json?a=1&amp;b=2"/>` +
			`<podcast:transcript url="ftp://e.example/t.txt"/><podcast:transcript url="data:text/html,x"/>` +
			`<podcast:transcript url="http://e.example/t.srt" type="application/x-subrip"/>&nbsp;`, "", "", 1, 1},
		{`<podcast:integrity type="sri" value="sha384-xxx sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="/>`, "",
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0, 0},
		{`<podcast:integrity type="pgp-signature" value="sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="/>`, "", "", 0, 0},
		{`<itunes:duration>60</itunes:duration><broken`, "1:00", "", 0, 0},
		{strings.Repeat(`<podcast:chapters url="https://e.example/c.json"/>`, 50), "", "", maxExtraLinks, 0},
	} {
		x := parseExtra(tc.frag)
		if x.duration != tc.duration || x.sha256 != tc.sha || len(x.chapters) != tc.chapters || len(x.transcripts) != tc.trans {
			t.Errorf("parseExtra(%.80q) = %q %q %v %v, want %q %q %d chapters %d transcripts",
				tc.frag, x.duration, x.sha256, x.chapters, x.transcripts, tc.duration, tc.sha, tc.chapters, tc.trans)
		}
	}
	if x := parseExtra(`<podcast:chapters url="https://e.example/c.json?a=1&amp;b=2"/>`); x.chapters[0].URL != "https://e.example/c.json?a=1&b=2" {
		t.Errorf("chapters URL %q", x.chapters[0].URL)
	}
}

func TestTextHelpers(t *testing.T) {
	n := newNotesPolicy()
	if got := n.plain("<p>Fish &amp; <b>chips</b></p>\n\n  and   more", 100); got != "Fish & chips and more" {
		t.Errorf("plain = %q", got)
	}
	if got := oneLine("Rock <Talk>  &  more", 100); got != "Rock <Talk> & more" {
		t.Errorf("oneLine = %q", got)
	}
	if got := oneLine(strings.Repeat("é", 50), 10); got != strings.Repeat("é", 9)+"…" {
		t.Errorf("oneLine cut = %q", got)
	}
	if got := truncate("aé", 2); got != "a" {
		t.Errorf("truncate splits a character: %q", got)
	}
	if notes, plain := n.sanitize("a < b & c"); plain || string(notes) != "a &lt; b &amp; c" {
		t.Errorf("sanitize(text with < and &) = %q, %v", notes, plain)
	}
	if notes, plain := n.sanitize("first\nsecond"); !plain || string(notes) != "first\nsecond" {
		t.Errorf("sanitize(plain text) = %q, %v", notes, plain)
	}
}

// TestDirectoryRefresh: the directory's figures are reused for directoryTTL, then read again.
func TestDirectoryRefresh(t *testing.T) {
	fx := newFixture(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fx.h.now = func() time.Time { return now }
	if _, body := fx.get(t, "/"); !strings.Contains(body, "2 episodes") {
		t.Fatalf("directory lacks the birds' 2 episodes:\n%s", body)
	}
	fx.publish(t, "birds", "guid:owl", 4, "media/birds/owl.mp3", 1000, "")
	if _, body := fx.get(t, "/"); !strings.Contains(body, "2 episodes") {
		t.Errorf("directory re-read before its TTL")
	}
	now = now.Add(directoryTTL)
	if _, body := fx.get(t, "/"); !strings.Contains(body, "3 episodes") {
		t.Errorf("directory not re-read after its TTL:\n%s", body)
	}
}
