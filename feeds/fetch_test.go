package feeds

import (
	"bytes"
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFetchConditional(t *testing.T) {
	const (
		etag    = `"v1"`
		lastMod = "Wed, 01 May 2024 10:00:00 GMT"
		body    = `<rss><channel><title>T</title></channel></rss>`
	)
	var gotINM, gotIMS []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotINM = append(gotINM, r.Header.Get("If-None-Match"))
		gotIMS = append(gotIMS, r.Header.Get("If-Modified-Since"))
		switch {
		case r.URL.Path == "/old":
			http.Redirect(w, r, "/feed", http.StatusMovedPermanently)
			return
		case r.Header.Get("If-None-Match") == etag:
			w.WriteHeader(http.StatusNotModified)
			return
		case r.Header.Get("If-Modified-Since") == lastMod:
			// Validators may be absent from a 304.
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Write([]byte(body))
	}))
	defer srv.Close()
	f := NewFetcher(srv.Client(), 0)

	res, err := f.Fetch(t.Context(), srv.URL+"/old", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.NotModified || string(res.Body) != body || res.ETag != etag || res.LastModified != lastMod ||
		res.ContentType != "application/rss+xml; charset=utf-8" || res.FinalURL != srv.URL+"/feed" {
		t.Fatalf("first fetch: %+v", res)
	}

	res, err = f.Fetch(t.Context(), res.FinalURL, res.ETag, res.LastModified)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotModified || res.Body != nil || res.ETag != etag || res.LastModified != lastMod {
		t.Fatalf("ETag fetch: %+v", res)
	}

	res, err = f.Fetch(t.Context(), srv.URL+"/feed", "", lastMod)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotModified || res.LastModified != lastMod || res.ETag != "" {
		t.Fatalf("Last-Modified fetch: %+v", res)
	}

	wantINM := []string{"", "", etag, ""}
	wantIMS := []string{"", "", lastMod, lastMod}
	if strings.Join(gotINM, ",") != strings.Join(wantINM, ",") || strings.Join(gotIMS, ",") != strings.Join(wantIMS, ",") {
		t.Errorf("If-None-Match %q, If-Modified-Since %q", gotINM, gotIMS)
	}
}

func TestFetchStatusError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	url := srv.URL + "/feed.xml"
	_, err := NewFetcher(srv.Client(), 0).Fetch(t.Context(), url, "", "")
	want := "feeds: fetch " + url + ": status 500"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	if se := (*StatusError)(nil); !errors.As(err, &se) || se.Code != http.StatusInternalServerError {
		t.Fatalf("%v: no *StatusError with code 500", err)
	}
}

func TestFetchErrorRedactsPassword(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	url := strings.Replace(srv.URL, "http://", "http://user:s3cret@", 1)
	_, err := NewFetcher(srv.Client(), 0).Fetch(t.Context(), url, "", "")
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "status 404") {
		t.Fatalf("got %v", err)
	}
}

func TestFetchSizeCap(t *testing.T) {
	const limit = 1000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := limit
		switch r.URL.Path {
		case "/over":
			n = limit + 1
		case "/huge":
			n = 10 * limit
		}
		data := bytes.Repeat([]byte("x"), n)
		if r.URL.Query().Has("chunked") {
			// Flushing before the end forces chunked encoding: no Content-Length.
			w.Write(data[:1])
			w.(http.Flusher).Flush()
			w.Write(data[1:])
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	f := NewFetcher(srv.Client(), limit)

	for _, q := range []string{"", "?chunked=1"} {
		res, err := f.Fetch(t.Context(), srv.URL+"/exact"+q, "", "")
		if err != nil || len(res.Body) != limit {
			t.Errorf("exact%s: %d bytes, %v", q, len(res.Body), err)
		}
		for _, path := range []string{"/over", "/huge"} {
			url := srv.URL + path + q
			_, err := f.Fetch(t.Context(), url, "", "")
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), url) {
				t.Errorf("%s: got %v, want ErrTooLarge naming the URL", url, err)
			}
		}
	}
}

func TestFetchCanceled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := NewFetcher(srv.Client(), 0).Fetch(ctx, srv.URL, "", "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// A limit near math.MaxInt64 (what fetch.max_feed_bytes: 9223372036854775807
// gave before config capped it) reads the body instead of panicking.
func TestFetchHugeLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<rss/>"))
		w.(http.Flusher).Flush() // no Content-Length: only the reader's cap applies
	}))
	defer srv.Close()
	for _, limit := range []int64{math.MaxInt64, math.MaxInt64 - 1} {
		res, err := NewFetcher(srv.Client(), limit).Fetch(t.Context(), srv.URL, "", "")
		if err != nil || string(res.Body) != "<rss/>" {
			t.Fatalf("limit %d: %q, %v", limit, res.Body, err)
		}
	}
}
