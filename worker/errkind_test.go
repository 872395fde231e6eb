package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/feeds"
	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/seedbox"
)

// kindWorker builds a worker on a real SQLite store whose clients time out after a second (a
// stalled origin holds its request until the client gives up, so no test waits on a clock);
// change adjusts its config and clients first.
func kindWorker(t *testing.T, change func(cfg *Config, cl *Clients)) *Worker {
	t.Helper()
	dir := t.TempDir()
	st := openTestStore(t, dir)
	c := safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: time.Second})
	cfg := Config{DataDir: dir, AnnounceList: [][]string{{"http://127.0.0.1:1/announce"}}, CreatedBy: "test"}
	cl := Clients{Feed: c, Media: c, MaxFeed: 1 << 20}
	if change != nil {
		change(&cfg, &cl)
	}
	return New(cfg, st, cl, nil, nil, slog.New(slog.DiscardHandler))
}

// origin serves feed at /feed.xml ("{{.}}" in it stands for the server's URL) and the handlers
// at their paths, returning the server's URL.
func origin(t *testing.T, feed string, handlers map[string]http.HandlerFunc) string {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.ReplaceAll(feed, "{{.}}", srv.URL))
	})
	for p, h := range handlers {
		mux.HandleFunc(p, h)
	}
	return srv.URL
}

// feedAt is origin's feed URL.
func feedAt(t *testing.T, feed string, handlers map[string]http.HandlerFunc) string {
	return origin(t, feed, handlers) + "/feed.xml"
}

// stall sends nothing until the client gives up.
func stall(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", code) }
}

func rssWith(channel, items string) string {
	return `<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>T</title>` +
		channel + items + `</channel></rss>`
}

// oneEpisode lists one enclosure, /ep.mp3, declaring 1000 bytes.
var oneEpisode = rssWith("", `<item><guid>g1</guid><title>One</title><enclosure url="{{.}}/ep.mp3" length="1000" type="audio/mpeg"/></item>`)

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/feed.xml"
}

// TestPollErrorKinds makes each kind of failure happen for real, through Poll against real
// servers and a real store, and checks the kind Poll's error carries, the kind PollErrorKind
// finds in it, and that the cause is still there for errors.Is.
func TestPollErrorKinds(t *testing.T) {
	body := strings.Repeat("a", 1000)
	for _, tc := range []struct {
		name    string
		kind    string
		cause   error // also in the chain, when not nil
		url     func(t *testing.T) string
		change  func(cfg *Config, cl *Clients)
		consent bool
	}{
		{name: "closed port", kind: KindRefused, url: closedPort},
		{name: "unknown host", kind: KindDNS, url: func(*testing.T) string { return "http://seedcast-test.invalid/feed.xml" }},
		{name: "feed stalls", kind: KindTimeout, url: func(t *testing.T) string {
			return origin(t, "", map[string]http.HandlerFunc{"/stall.xml": stall}) + "/stall.xml"
		}},
		{name: "feed stalls past the header timeout", kind: KindTimeout, url: func(t *testing.T) string {
			return origin(t, "", map[string]http.HandlerFunc{"/stall.xml": stall}) + "/stall.xml"
		}, change: func(cfg *Config, cl *Clients) {
			cl.Feed = safehttp.NewClient(safehttp.Options{AllowPrivate: true, HeaderTimeout: time.Second})
		}},
		{name: "enclosure stalls", kind: KindTimeout, cause: seedbox.ErrIdle, url: func(t *testing.T) string {
			return feedAt(t, oneEpisode, map[string]http.HandlerFunc{"/ep.mp3": func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1000")
				io.WriteString(w, body[:10])
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}})
		}, change: func(cfg *Config, cl *Clients) {
			cfg.IdleTimeout = 200 * time.Millisecond
			cl.Media = safehttp.NewClient(safehttp.Options{AllowPrivate: true})
		}},
		{name: "feed 500", kind: KindHTTPStatus, url: func(t *testing.T) string {
			return origin(t, "", map[string]http.HandlerFunc{"/gone.xml": status(http.StatusInternalServerError)}) + "/gone.xml"
		}},
		{name: "feed 404", kind: KindHTTPStatus, url: func(t *testing.T) string {
			return origin(t, "", nil) + "/missing.xml"
		}},
		{name: "enclosure 404", kind: KindHTTPStatus, cause: seedbox.ErrBadStatus, url: func(t *testing.T) string {
			return feedAt(t, oneEpisode, map[string]http.HandlerFunc{"/ep.mp3": status(http.StatusNotFound)})
		}},
		{name: "feed over the size cap", kind: KindTooLarge, cause: feeds.ErrTooLarge, url: func(t *testing.T) string {
			return feedAt(t, rssWith("<description>"+strings.Repeat("x", 4096)+"</description>", ""), nil)
		}, change: func(cfg *Config, cl *Clients) { cl.MaxFeed = 1024 }},
		{name: "enclosure over the size cap", kind: KindTooLarge, cause: seedbox.ErrTooLarge, url: func(t *testing.T) string {
			return feedAt(t, oneEpisode, map[string]http.HandlerFunc{"/ep.mp3": func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }})
		}, change: func(cfg *Config, cl *Clients) { cfg.MaxEnclosureBytes = 100 }},
		{name: "malformed XML", kind: KindParse, url: func(t *testing.T) string {
			return feedAt(t, `<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>One</tit`, nil)
		}},
		{name: "not a feed", kind: KindParse, url: func(t *testing.T) string {
			return feedAt(t, "<html><body>Moved to our new site</body></html>", nil)
		}},
		{name: "locked without consent", kind: KindLocked, cause: feeds.ErrLocked, url: func(t *testing.T) string {
			return feedAt(t, rssWith("<podcast:locked>yes</podcast:locked>", ""), nil)
		}},
		{name: "disk floor", kind: KindDiskFull, cause: ErrDiskFloor, url: func(t *testing.T) string {
			return feedAt(t, oneEpisode, map[string]http.HandlerFunc{"/ep.mp3": func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }})
		}, change: func(cfg *Config, cl *Clients) { cfg.MinFreeBytes = 1 << 60 }},
		{name: "private address refused by the SSRF guard", kind: KindOther, cause: safehttp.ErrForbiddenAddress, url: func(t *testing.T) string {
			return feedAt(t, oneEpisode, nil)
		}, change: func(cfg *Config, cl *Clients) { cl.Feed = safehttp.NewClient(safehttp.Options{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := kindWorker(t, tc.change)
			err := w.Poll(context.Background(), Feed{Slug: "s", URL: tc.url(t), OwnerConsent: tc.consent})
			if err == nil {
				t.Fatal("poll succeeded")
			}
			var pf *PollFailure
			if !errors.As(err, &pf) || pf.Kind != tc.kind {
				t.Fatalf("Poll's error %T %+v, want a *PollFailure of kind %q: %v", err, pf, tc.kind, err)
			}
			if got := PollErrorKind(pf.Err); got != tc.kind {
				t.Fatalf("PollErrorKind = %q, want %q: %v", got, tc.kind, err)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Fatalf("%v does not wrap %v", err, tc.cause)
			}
			if !strings.Contains(err.Error(), "feed s (") {
				t.Fatalf("error %q does not name the feed", err)
			}
			// The kind is what the dashboard reads from the store.
			if f, ferr := w.st.Feed(context.Background(), "s"); ferr != nil || f.ErrorKind != tc.kind || f.LastError == "" {
				t.Fatalf("stored feed %+v (%v), want error kind %q", f, ferr, tc.kind)
			}
		})
	}
}

// TestLockedWithConsentIsNoError: the locked kind is the refusal, not the tag.
func TestLockedWithConsentIsNoError(t *testing.T) {
	w := kindWorker(t, nil)
	u := feedAt(t, rssWith("<podcast:locked>yes</podcast:locked>", ""), nil)
	if err := w.Poll(context.Background(), Feed{Slug: "s", URL: u, OwnerConsent: true}); err != nil {
		t.Fatal(err)
	}
}

// TestPollErrorKindFirstOfJoined: a poll whose episodes failed in different ways takes the kind
// of the first failure, the order the status shows them in.
func TestPollErrorKindFirstOfJoined(t *testing.T) {
	feed := rssWith("", `<item><guid>g1</guid><title>One</title><enclosure url="{{.}}/a.mp3" length="10" type="audio/mpeg"/></item>`+
		`<item><guid>g2</guid><title>Two</title><enclosure url="{{.}}/b.mp3" length="10" type="audio/mpeg"/></item>`)
	for _, order := range []struct{ a, b string }{{KindHTTPStatus, KindTooLarge}, {KindTooLarge, KindHTTPStatus}} {
		t.Run(order.a+"_then_"+order.b, func(t *testing.T) {
			h := func(kind string) http.HandlerFunc {
				if kind == KindHTTPStatus {
					return status(http.StatusNotFound)
				}
				return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("a", 500)) }
			}
			u := feedAt(t, feed, map[string]http.HandlerFunc{"/a.mp3": h(order.a), "/b.mp3": h(order.b)})
			w := kindWorker(t, func(cfg *Config, cl *Clients) { cfg.MaxEnclosureBytes = 100 })
			err := w.Poll(context.Background(), Feed{Slug: "s", URL: u})
			// The store lists unpublished episodes in their own order; find which failed first.
			msg := fmt.Sprint(err)
			first := order.a
			if strings.Index(msg, `"Two"`) < strings.Index(msg, `"One"`) {
				first = order.b
			}
			if got := PollErrorKind(err); got != first {
				t.Fatalf("kind %q, want %q (the first failure): %v", got, first, err)
			}
		})
	}
}

// TestPollErrorText: every kind has its own sentence, and an unknown kind reads as other.
func TestPollErrorText(t *testing.T) {
	seen := map[string]string{}
	for _, k := range []string{KindDNS, KindRefused, KindTimeout, KindHTTPStatus, KindTooLarge, KindParse, KindLocked, KindDiskFull, KindOther} {
		text := PollErrorText(k)
		if text == "" || !strings.HasSuffix(text, ".") {
			t.Errorf("%s: %q is not a sentence", k, text)
		}
		if other, dup := seen[text]; dup {
			t.Errorf("%s and %s share the text %q", k, other, text)
		}
		seen[text] = k
	}
	if PollErrorText("no-such-kind") != PollErrorText(KindOther) {
		t.Error("an unknown kind does not read as other")
	}
	if PollErrorKind(nil) != "" {
		t.Error("PollErrorKind(nil) is not empty")
	}
}
