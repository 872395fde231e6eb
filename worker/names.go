package worker

import (
	"maps"
	"mime"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What a listener's client saves an episode as is the torrent's info name: the file name the
// podcaster gave it, not our storage name (MediaName, with its hash prefix). The hash prefix
// moves into info.source instead, so two enclosures with the same bytes under the same file name
// still make two torrents.

// maxNameBytes keeps a saved name, plus a client's ".part" or " (1)" suffix, under the 255-byte
// limit of common file systems.
const maxNameBytes = 180

var (
	// nameExt is an extension people and players recognise: a dot and 1-5 letters or digits.
	nameExt = regexp.MustCompile(`\.[A-Za-z0-9]{1,5}$`)
	// Windows refuses these characters in file names; elsewhere they make names awkward.
	awkward = strings.NewReplacer("<", " ", ">", " ", ":", " ", `"`, " ", "/", " ", `\`, " ", "|", " ", "?", " ", "*", " ")
	// Names Windows reserves for devices, with or without an extension.
	reservedStem = regexp.MustCompile(`(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])$`)
)

// mediaExts are the extensions for the media types podcasts use.
var mediaExts = map[string]string{
	"audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/mp4": ".m4a", "audio/x-m4a": ".m4a", "audio/m4a": ".m4a",
	"audio/aac": ".aac", "audio/ogg": ".ogg", "audio/opus": ".opus", "audio/flac": ".flac", "audio/x-flac": ".flac",
	"audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/webm": ".webm",
	"video/mp4": ".mp4", "video/x-m4v": ".m4v", "video/quicktime": ".mov", "video/webm": ".webm",
	"application/pdf": ".pdf", "application/epub+zip": ".epub",
}

// TorrentName is the info name of a new torrent: the last segment of the enclosure URL's path,
// percent-decoded and made safe, when it has an extension; otherwise the episode title (or that
// segment, or "episode") with the extension of the media type.
func TorrentName(rawURL, title, mediaType string) string {
	return torrentName(rawURL, title, extForType(mediaType))
}

func torrentName(rawURL, title, ext string) string {
	fromURL := urlFileName(rawURL)
	if m := nameExt.FindString(fromURL); m != "" && len(fromURL) > len(m) {
		return capName(fromURL, m)
	}
	stem := safeName(title)
	if stem == "" {
		stem = fromURL
	}
	if stem == "" {
		stem = "episode"
	}
	return capName(stem+ext, ext)
}

// urlFileName is the safe, decoded last path segment of rawURL ("" if none). Segments are split
// before decoding, so an encoded slash (%2F) stays inside the name and is then replaced.
func urlFileName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	seg := path.Base("/" + strings.Trim(u.EscapedPath(), "/"))
	dec, err := url.PathUnescape(seg)
	if err != nil {
		dec = seg
	}
	return safeName(dec)
}

// safeName makes s a single file name: valid UTF-8 without control or invisible formatting
// characters (no bidi tricks), no path separators or characters Windows refuses, single spaces,
// no leading or trailing dots and spaces (no hidden files, no "." or ".."), no device names.
func safeName(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r): // tabs and line breaks included
			return ' '
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(awkward.Replace(s)), " ")
	s = strings.Trim(s, ". ")
	if stem := strings.TrimSuffix(s, filepath.Ext(s)); reservedStem.MatchString(stem) {
		s = "_" + s
	}
	return s
}

// capName shortens name to maxNameBytes on a character boundary, keeping its extension ext.
func capName(name, ext string) string {
	if len(name) <= maxNameBytes {
		return name
	}
	stem := strings.TrimSuffix(name, ext)
	limit := maxNameBytes - len(ext)
	for limit > 0 && !utf8.RuneStart(stem[limit]) {
		limit--
	}
	return strings.TrimRight(stem[:limit], ". ") + ext
}

// extForType is the extension for a media type ("audio/mpeg; charset=x" works), ".bin" when
// unknown.
func extForType(mediaType string) string {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(mediaType))
	}
	if ext, ok := mediaExts[mt]; ok {
		return ext
	}
	return ".bin"
}

// torrentSource is the info source of a new torrent of the media at storage name mediaName: its
// hash prefix, unique to the episode (see MediaName).
func torrentSource(mediaName string) string {
	prefix, _, _ := strings.Cut(filepath.Base(mediaName), "-")
	return prefix
}

// torrentIdentities are the (name, source) pairs a published torrent of this media may have been
// made with, newest first: the people's name with any extension we know (the media type is not
// kept), then the storage name alone, as torrents published before names were for people have.
func torrentIdentities(mediaPath, rawURL, title string) [][2]string {
	source := torrentSource(mediaPath)
	seen := map[string]bool{}
	var out [][2]string
	add := func(name, source string) {
		if k := name + "\x00" + source; !seen[k] {
			seen[k] = true
			out = append(out, [2]string{name, source})
		}
	}
	add(torrentName(rawURL, title, ".bin"), source)
	for _, ext := range slices.Sorted(maps.Values(mediaExts)) {
		add(torrentName(rawURL, title, ext), source)
	}
	add(filepath.Base(mediaPath), "")
	return out
}
