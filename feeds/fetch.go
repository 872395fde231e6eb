package feeds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/seedcast/seedcast/safehttp"
)

// ErrTooLarge is wrapped in the error of a fetch whose body exceeds the limit.
var ErrTooLarge = errors.New("feeds: feed too large")

// StatusError is wrapped in the error of a fetch the origin answered with a status other than
// 2xx or 304 Not Modified.
type StatusError struct {
	Code int
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d", e.Code) }

const defaultMaxBytes = 20 << 20

// Fetcher fetches feeds with conditional GET.
type Fetcher struct {
	client   *http.Client
	maxBytes int64
}

// NewFetcher returns a Fetcher using client (normally a safehttp client).
// maxBytes <= 0 means 20 MiB.
func NewFetcher(client *http.Client, maxBytes int64) *Fetcher {
	if client == nil {
		client = &http.Client{}
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxBytes
	}
	return &Fetcher{client: client, maxBytes: maxBytes}
}

// FetchResult is the outcome of a fetch. On NotModified, Body is nil and
// ETag/LastModified are the validators to keep using.
type FetchResult struct {
	NotModified  bool
	Body         []byte
	ETag         string
	LastModified string
	ContentType  string
	FinalURL     string // after redirects; resolve relative links against it
}

// Fetch GETs rawURL, sending etag and lastModified (from the previous
// FetchResult) as If-None-Match and If-Modified-Since when non-empty.
func (f *Fetcher) Fetch(ctx context.Context, rawURL, etag, lastModified string) (FetchResult, error) {
	name := safehttp.RedactURL(rawURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return FetchResult{}, fmt.Errorf("feeds: fetch %s: %w", name, safehttp.RedactError(err))
	}
	req.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if lastModified != "" {
		req.Header.Set("If-Modified-Since", lastModified)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		// net/http's error repeats the URL with its query: redact it too.
		return FetchResult{}, fmt.Errorf("feeds: fetch %s: %w", name, safehttp.RedactError(err))
	}
	defer resp.Body.Close()

	res := FetchResult{
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		ContentType:  resp.Header.Get("Content-Type"),
		FinalURL:     resp.Request.URL.String(),
	}
	if resp.StatusCode == http.StatusNotModified {
		// A 304 may omit the validators; the old ones still apply.
		if res.ETag == "" {
			res.ETag = etag
		}
		if res.LastModified == "" {
			res.LastModified = lastModified
		}
		res.NotModified = true
		return res, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return FetchResult{}, fmt.Errorf("feeds: fetch %s: %w", name, &StatusError{Code: resp.StatusCode})
	}
	if resp.ContentLength > f.maxBytes {
		return FetchResult{}, fmt.Errorf("feeds: fetch %s: Content-Length %d over %d bytes: %w", name, resp.ContentLength, f.maxBytes, ErrTooLarge)
	}
	body, err := io.ReadAll(&cappedReader{r: resp.Body, left: f.maxBytes})
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return FetchResult{}, fmt.Errorf("feeds: fetch %s: body over %d bytes: %w", name, f.maxBytes, err)
		}
		return FetchResult{}, fmt.Errorf("feeds: fetch %s: read body: %w", name, err)
	}
	res.Body = body
	return res, nil
}

// cappedReader fails with ErrTooLarge instead of silently truncating, so a
// cut-off feed is never parsed as if it were whole.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, ErrTooLarge
	}
	// Read one byte past the limit so an exactly-full body is not an error.
	// Compared as len(p) > left, not len(p) > left+1: left+1 overflows
	// when the limit is near math.MaxInt64.
	if int64(len(p)) > c.left {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, ErrTooLarge
	}
	return n, err
}
