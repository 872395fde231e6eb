package seedbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// A partial download is destPath+".part" plus a sidecar destPath+".part.json" recording what the
// part holds: the URL and the validators of the response it came from. Without a validator the
// part is never resumed, since a changed file would splice two versions into one.
const (
	partSuffix    = ".part"
	sidecarSuffix = ".part.json"
	// The sidecar is written to this name and renamed, so a crash leaves the old one or the new one.
	sidecarTmpSuffix = sidecarSuffix + ".tmp" // what writeFileSynced names it
	maxSidecarBytes  = 64 << 10
)

// errRestart means the partial download cannot be continued: discard it and start over.
var errRestart = errors.New("seedbox: partial download cannot be resumed")

// partialMeta is the sidecar's content.
type partialMeta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`          // strong entity tag, quoted
	LastModified string `json:"last_modified,omitempty"` // in http.TimeFormat
	ContentType  string `json:"content_type,omitempty"`
	Length       int64  `json:"length"`         // the whole body, -1 when the origin did not declare it
	Boot         string `json:"boot,omitempty"` // the OS boot that wrote the part (FetchOptions.BootID)
}

// validator is the If-Range value: the ETag when there is one, else Last-Modified.
func (m partialMeta) validator() string {
	if m.ETag != "" {
		return m.ETag
	}
	return m.LastModified
}

// metaFromResponse records the validators of a 200 response. ok is false when the response has
// none usable in If-Range (no strong ETag and no valid Last-Modified).
func metaFromResponse(rawURL string, resp *http.Response) (m partialMeta, ok bool) {
	m = partialMeta{URL: rawURL, ContentType: resp.Header.Get("Content-Type"), Length: resp.ContentLength}
	if et := resp.Header.Get("ETag"); isStrongETag(et) {
		m.ETag = et
	}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		m.LastModified = lm.UTC().Format(http.TimeFormat)
	}
	return m, m.validator() != ""
}

// isStrongETag reports whether s is a well-formed strong entity tag (RFC 9110 8.8.3). Weak tags
// cannot be used in If-Range, and anything malformed must not be echoed into a request header.
func isStrongETag(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for _, c := range []byte(s[1 : len(s)-1]) {
		if c == '"' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// readPartial returns the recorded metadata and the part's size when destPath's partial download
// can be resumed from rawURL: a sidecar for the same URL with a validator, written in this OS boot
// when boot is known, and a non-empty part no longer than the recorded length or maxBytes.
func readPartial(rawURL, destPath string, maxBytes int64, boot string) (partialMeta, int64, bool) {
	f, err := os.Open(destPath + sidecarSuffix)
	if err != nil {
		return partialMeta{}, 0, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSidecarBytes+1))
	if err != nil || len(b) > maxSidecarBytes {
		return partialMeta{}, 0, false
	}
	var m partialMeta
	if err := json.Unmarshal(b, &m); err != nil || m.URL != rawURL {
		return partialMeta{}, 0, false
	}
	// Re-check what we wrote: the value goes into a request header.
	if m.ETag != "" && !isStrongETag(m.ETag) {
		return partialMeta{}, 0, false
	}
	if m.LastModified != "" {
		if _, err := http.ParseTime(m.LastModified); err != nil {
			return partialMeta{}, 0, false
		}
	}
	if m.validator() == "" || (boot != "" && m.Boot != boot) {
		return partialMeta{}, 0, false
	}
	fi, err := os.Lstat(destPath + partSuffix)
	if err != nil || !fi.Mode().IsRegular() {
		return partialMeta{}, 0, false
	}
	n := fi.Size()
	// A part as long as the whole body cannot be confirmed by a Range request (the origin answers
	// 416 without checking If-Range), so it starts over like any other doubt.
	if n <= 0 || n >= maxBytes || (m.Length >= 0 && n >= m.Length) {
		return partialMeta{}, 0, false
	}
	return m, n, true
}

// writeSidecar replaces destPath's sidecar atomically. No directory fsync: losing the sidecar in
// a power cut only costs a fresh download, never a wrong one.
func writeSidecar(destPath string, m partialMeta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding partial download record: %w", err)
	}
	if err := writeFileSynced(destPath+sidecarSuffix, b, 0o644); err != nil {
		return fmt.Errorf("writing partial download record: %w", err)
	}
	return nil
}

// checkPartialResponse accepts a 206 answer to "Range: bytes=offset-" only when it continues the
// recorded body: one range starting at offset and running to the end of a known total that agrees
// with the recorded length and validators. It returns the total.
func checkPartialResponse(resp *http.Response, m partialMeta, offset int64) (int64, error) {
	start, end, total, err := parseContentRange(resp.Header.Get("Content-Range"))
	if err != nil {
		return 0, err
	}
	switch {
	case start != offset:
		return 0, fmt.Errorf("range starts at %d, asked %d", start, offset)
	case total < 0 || end != total-1:
		return 0, fmt.Errorf("range %d-%d does not run to the end of a known length", start, end)
	case m.Length >= 0 && total != m.Length:
		return 0, fmt.Errorf("length is now %d, was %d", total, m.Length)
	case resp.ContentLength >= 0 && resp.ContentLength != end-start+1:
		return 0, fmt.Errorf("Content-Length %d disagrees with range %d-%d", resp.ContentLength, start, end)
	}
	// If-Range should already have turned a changed file into a 200; check in case it was ignored.
	if et := resp.Header.Get("ETag"); m.ETag != "" && et != "" && et != m.ETag {
		return 0, fmt.Errorf("ETag is now %s, was %s", et, m.ETag)
	}
	if lm := resp.Header.Get("Last-Modified"); m.ETag == "" && lm != "" {
		got, err1 := http.ParseTime(lm)
		want, err2 := http.ParseTime(m.LastModified)
		if err1 != nil || err2 != nil || !got.Equal(want) {
			return 0, fmt.Errorf("Last-Modified is now %s, was %s", lm, m.LastModified)
		}
	}
	return total, nil
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL may be "*", returned as -1).
func parseContentRange(s string) (start, end, total int64, err error) {
	bad := func() (int64, int64, int64, error) {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return bad()
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return bad()
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return bad()
	}
	start, err1 := parseUint(a)
	end, err2 := parseUint(b)
	total = -1
	var err3 error
	if tot != "*" {
		total, err3 = parseUint(tot)
	}
	if err1 != nil || err2 != nil || err3 != nil || end < start || (total >= 0 && end >= total) {
		return bad()
	}
	return start, end, total, nil
}

// parseUint parses a non-negative decimal without sign or spaces.
func parseUint(s string) (int64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, errors.New("not a number")
	}
	return strconv.ParseInt(s, 10, 64)
}

// RemovePartial deletes destPath's partial download (the .part file and its record), for callers
// that give up on an episode. Missing files are not an error.
func RemovePartial(destPath string) error {
	var errs []error
	for _, suffix := range []string{partSuffix, sidecarSuffix, sidecarTmpSuffix} {
		if err := os.Remove(destPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("seedbox: remove partial download: %w", err)
	}
	return nil
}

// PartialDest reports whether path is one of the files a partial download leaves beside its
// destination (the part, its record, the record's temporary) and, if so, that destination.
func PartialDest(path string) (destPath string, ok bool) {
	for _, suffix := range []string{sidecarTmpSuffix, sidecarSuffix, partSuffix} {
		if dest, ok := strings.CutSuffix(path, suffix); ok {
			return dest, true
		}
	}
	return "", false
}

// transientError marks a failure of the network or the context: the part written so far is still
// good and is kept for a later resume.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func isTransient(err error) bool {
	var te *transientError
	return errors.As(err, &te) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// bodyReader marks the body's read errors as transient, except the ones that mean the body was
// not what was declared (io.ErrUnexpectedEOF, a body shorter than its Content-Length).
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		err = &transientError{err}
	}
	return n, err
}
