package web

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

const (
	nsItunes  = "http://www.itunes.com/dtds/podcast-1.0.dtd"
	nsPodcast = "https://podcastindex.org/namespace/1.0"
)

// extra is what the pages show of an item's itunes:* and podcast:* elements.
type extra struct {
	duration    string
	chapters    []link
	transcripts []link
	sha256      string // hex, from podcast:integrity
}

// maxExtraLinks bounds the chapters and transcripts links shown per episode.
const maxExtraLinks = 8

// parseExtra reads an item's Extra fragment. The fragment uses the usual prefixes without
// declaring them, so they are declared around it; anything unreadable is skipped.
func parseExtra(fragment string) extra {
	var x extra
	if fragment == "" {
		return x
	}
	d := xml.NewDecoder(strings.NewReader(`<x xmlns:itunes="` + nsItunes + `" xmlns:podcast="` + nsPodcast + `">` +
		truncate(fragment, maxNotes) + `</x>`))
	d.Strict, d.Entity = false, xml.HTMLEntity // forgiving: HTML entities and sloppy markup
	for {
		tok, err := d.Token()
		if err != nil {
			return x // io.EOF or a broken fragment: what was read so far
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case se.Name.Space == nsItunes && se.Name.Local == "duration":
			var s string
			if d.DecodeElement(&s, &se) == nil {
				x.duration = fmtDuration(s)
			}
		case se.Name.Space == nsPodcast && se.Name.Local == "chapters":
			if u := httpURL(attr(se, "url")); u != "" && len(x.chapters) < maxExtraLinks {
				x.chapters = append(x.chapters, link{"Chapters", u})
			}
		case se.Name.Space == nsPodcast && se.Name.Local == "transcript":
			if u := httpURL(attr(se, "url")); u != "" && len(x.transcripts) < maxExtraLinks {
				x.transcripts = append(x.transcripts, link{transcriptName(attr(se, "type"), attr(se, "language")), u})
			}
		case se.Name.Space == nsPodcast && se.Name.Local == "integrity":
			if x.sha256 == "" {
				x.sha256 = sriSHA256(attr(se, "type"), attr(se, "value"))
			}
		}
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

func transcriptName(typ, lang string) string {
	name := "Transcript"
	if t := strings.TrimSpace(typ); t != "" && len(t) < 60 {
		name += " (" + t
		if l := strings.TrimSpace(lang); l != "" && len(l) < 20 {
			name += ", " + l
		}
		name += ")"
	}
	return name
}

// sriSHA256 returns the hex SHA-256 of a podcast:integrity of type sri ("sha256-BASE64"), or "".
func sriSHA256(typ, value string) string {
	if !strings.EqualFold(typ, "sri") {
		return ""
	}
	for _, v := range strings.Fields(value) {
		if b64, ok := strings.CutPrefix(v, "sha256-"); ok {
			if sum, err := base64.StdEncoding.DecodeString(b64); err == nil && len(sum) == 32 {
				return hex.EncodeToString(sum)
			}
		}
	}
	return ""
}

// fmtDuration normalises itunes:duration (seconds, M:SS or H:MM:SS) to H:MM:SS or M:SS; ""
// when it is neither.
func fmtDuration(s string) string {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, ":")
	if len(parts) > 3 || s == "" {
		return ""
	}
	var secs int64
	for _, p := range parts {
		if i := strings.IndexByte(p, '.'); i >= 0 && len(parts) == 1 {
			p = p[:i] // "3600.5"
		}
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 || n > 1e7 {
			return ""
		}
		secs = secs*60 + n
	}
	h, m, sec := secs/3600, secs/60%60, secs%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}
