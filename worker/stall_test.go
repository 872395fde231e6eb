package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/safehttp"
	"github.com/seedcast/seedcast/store"
)

// stallOrigin is one host serving two feeds: feed a's enclosure sends half
// its body and then stalls until unstall is closed (or the client leaves);
// feed b's enclosure is served whole.
type stallOrigin struct {
	srv     *httptest.Server
	stalled chan struct{} // closed once a's enclosure has sent its first half
	unstall chan struct{}
}

func newStallOrigin(t *testing.T) *stallOrigin {
	t.Helper()
	o := &stallOrigin{stalled: make(chan struct{}), unstall: make(chan struct{})}
	body := []byte(strings.Repeat("audio", 200000))
	mux := http.NewServeMux()
	feed := func(name, enc string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<rss version="2.0"><channel><title>%s</title><item><guid>%s1</guid><title>One</title>
<enclosure url="%s%s" length="%d" type="audio/mpeg"/></item></channel></rss>`, name, name, o.srv.URL, enc, len(body))
		}
	}
	mux.HandleFunc("/a.xml", feed("a", "/stall.mp3"))
	mux.HandleFunc("/b.xml", feed("b", "/b.mp3"))
	mux.HandleFunc("/stall.mp3", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("ETag", `"a1"`)
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		select {
		case <-o.stalled:
		default:
			close(o.stalled)
		}
		select {
		case <-o.unstall:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/b.mp3", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	t.Cleanup(func() { close(o.unstall) })
	return o
}

func newStallWorker(t *testing.T, cfg Config) (*Worker, store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st := openTestStore(t, dir)
	c := safehttp.NewClient(safehttp.Options{AllowPrivate: true})
	cfg.DataDir, cfg.AnnounceList, cfg.CreatedBy = dir, [][]string{{"http://127.0.0.1:1/announce"}}, "test"
	w := New(cfg, st, Clients{Feed: c, Media: c, MaxFeed: 1 << 20}, nil, nil, slog.New(slog.DiscardHandler))
	return w, st, dir
}

// A stalled download holds no poll slot: with one poll slot for the host,
// another feed there is polled and published while feed a's enclosure stalls.
func TestStalledDownloadDoesNotBlockOtherFeedsOnItsHost(t *testing.T) {
	o := newStallOrigin(t)
	w, st, _ := newStallWorker(t, Config{MaxPollsPerHost: 1})

	aDone := make(chan error, 1)
	go func() { aDone <- w.Poll(t.Context(), Feed{Slug: "a", URL: o.srv.URL + "/a.xml"}) }()
	select {
	case <-o.stalled:
	case err := <-aDone:
		t.Fatalf("feed a's poll ended before its download stalled: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("feed a's download never started")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := w.Poll(ctx, Feed{Slug: "b", URL: o.srv.URL + "/b.xml"}); err != nil {
		t.Fatalf("feed b, same host, while a's download stalls: %v", err)
	}
	if pub, err := st.Published(ctx, "b"); err != nil || len(pub) != 1 {
		t.Fatalf("feed b published %v, %v; want its episode", pub, err)
	}
	select {
	case err := <-aDone:
		t.Fatalf("feed a's poll ended while its download should still stall: %v", err)
	default:
	}
}

// A download that receives nothing for the idle timeout fails with an error
// naming the URL and the config key; the part stays for a resume.
func TestStalledDownloadFailsAfterIdleTimeout(t *testing.T) {
	o := newStallOrigin(t)
	w, st, dir := newStallWorker(t, Config{IdleTimeout: 300 * time.Millisecond})

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := w.Poll(ctx, Feed{Slug: "a", URL: o.srv.URL + "/a.xml"})
	if ctx.Err() != nil {
		t.Fatal("the stalled download was not stopped by the idle timeout")
	}
	want := "no data for 300ms (fetch.enclosure_idle_timeout)"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), o.srv.URL+"/stall.mp3") {
		t.Fatalf("error %v should name the enclosure URL and say %q", err, want)
	}
	ep, err := st.Episode(ctx, "a", "guid:a1")
	if err != nil || ep.State != store.StateFailed || !strings.Contains(ep.Error, want) {
		t.Fatalf("episode = %+v, %v; want failed with %q", ep, err, want)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "media", "a", "*.part"))
	if len(parts) != 1 {
		t.Fatalf("parts kept for resume: %v, want one", parts)
	}
	if fi, err := os.Stat(parts[0]); err != nil || fi.Size() == 0 {
		t.Fatalf("part %s: %v, %v; want the half that arrived", parts[0], fi, err)
	}
}
