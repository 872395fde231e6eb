package feedcheck

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcast/seedcast/feeds"
	"github.com/seedcast/seedcast/safehttp"
)

const txtFixtures = "../feeds/testdata/podcasttxt/"

// serveFile serves path at /feed.xml and "<html>" elsewhere, counting requests.
func serveFile(t *testing.T, path string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write(body)
		case "/bad":
			w.Write([]byte("<html>not a feed</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func localClient() *http.Client {
	return safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second})
}

// TestCheckURL fetches with the client it is given and reports the items,
// the torrents they would become and the verify tokens.
func TestCheckURL(t *testing.T) {
	srv, _ := serveFile(t, txtFixtures+"verify.rss")
	rep, err := Check(context.Background(), Options{Client: localClient()}, srv.URL+"/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Title != "Verified Show" || rep.Refused || rep.Locked || len(rep.Items) != 1 {
		t.Fatalf("report %+v", rep)
	}
	want := Enclosure{URL: "https://cdn.example.org/media/ep1.mp3", Type: "audio/mpeg", Length: 1234567, TorrentName: "ep1.mp3"}
	if it := rep.Items[0]; it.GUID != "verified-ep1" || len(it.Enclosures) != 1 || it.Enclosures[0] != want {
		t.Errorf("item %+v, want one enclosure %+v", it, want)
	}
	if toks := []string{"S6L5-3f9a2c71d0b84e6f", "second-token-with-spaces-around"}; !slices.Equal(rep.VerifyTokens, toks) {
		t.Errorf("verify tokens %q, want %q", rep.VerifyTokens, toks)
	}
}

// TestCheckUsesTheGuard: with a client that refuses private addresses (what
// a dashboard adding a stranger's feed uses), a loopback feed is an error and
// no request reaches it.
func TestCheckUsesTheGuard(t *testing.T) {
	srv, hits := serveFile(t, txtFixtures+"verify.rss")
	guarded := safehttp.NewClient(safehttp.Options{Timeout: 10 * time.Second})
	_, err := Check(context.Background(), Options{Client: guarded}, srv.URL+"/feed.xml")
	if !errors.Is(err, safehttp.ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server got %d requests", n)
	}
	if _, err := Check(context.Background(), Options{}, srv.URL+"/feed.xml"); err == nil || hits.Load() != 0 {
		t.Errorf("without a client: err = %v, %d requests", err, hits.Load())
	}
}

// TestCheckOnlyFetchesHTTP: Check never reads a file, whatever it is given.
func TestCheckOnlyFetchesHTTP(t *testing.T) {
	path, err := filepath.Abs(txtFixtures + "verify.rss")
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{path, "file://" + path, "ftp://example.org/feed.xml", "http:///feed.xml", "javascript:alert(1)"} {
		rep, err := Check(context.Background(), Options{Client: localClient()}, src)
		if !errors.Is(err, ErrNotHTTP) || rep.Title != "" {
			t.Errorf("%s: err = %v, title %q; want ErrNotHTTP", src, err, rep.Title)
		}
	}
}

// TestCheckFetchFailures are errors, not reports; a fetched feed that does
// not parse is a refusal that says why.
func TestCheckFetchFailures(t *testing.T) {
	srv, _ := serveFile(t, txtFixtures+"verify.rss")
	ctx := context.Background()
	if _, err := Check(ctx, Options{Client: localClient()}, srv.URL+"/missing"); err == nil || !strings.Contains(err.Error(), "status 404") {
		t.Errorf("404: err = %v", err)
	}
	if _, err := Check(ctx, Options{Client: localClient(), MaxBytes: 100}, srv.URL+"/feed.xml"); !errors.Is(err, feeds.ErrTooLarge) {
		t.Errorf("over MaxBytes: err = %v, want ErrTooLarge", err)
	}
	rep, err := Check(ctx, Options{Client: localClient()}, srv.URL+"/bad")
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Refused || !strings.HasPrefix(rep.Refusal, "feeds: parse "+srv.URL+"/bad") ||
		len(rep.Problems) == 0 || rep.Problems[0] != "refused: "+rep.Refusal {
		t.Errorf("report %+v", rep)
	}
}

// TestCheckLocked: a locked feed is refused unless the owner consents, and
// the report says it is locked either way.
func TestCheckLocked(t *testing.T) {
	const feed = "../testdata/feeds/podcast-namespace/example.xml"
	rep, err := CheckFile(Options{}, feed)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Refused || !rep.Locked || rep.Refusal != feeds.ErrLocked.Error() || len(rep.Items) != 3 {
		t.Errorf("report %+v", rep)
	}
	rep, err = CheckFile(Options{OwnerConsent: true}, feed)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Refused || !rep.Locked || rep.Refusal != "" {
		t.Errorf("with consent: refused %v locked %v %q", rep.Refused, rep.Locked, rep.Refusal)
	}
	if _, err := CheckFile(Options{}, filepath.Join(t.TempDir(), "none.xml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestCheckHostileTxt: the report carries only the bounded channel tokens,
// and its problems say what was left out.
func TestCheckHostileTxt(t *testing.T) {
	rep, err := CheckFile(Options{}, txtFixtures+"hostile.rss")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.VerifyTokens) != feeds.MaxVerifyTokens || rep.VerifyTokens[0] != "pi-token" {
		t.Fatalf("verify tokens %q", rep.VerifyTokens)
	}
	for _, bad := range []string{"item-token", "nested-token", "wrong-namespace-token", "wrong-purpose-token", "no-purpose-token"} {
		if slices.Contains(rep.VerifyTokens, bad) {
			t.Errorf("%s counted as a verify token", bad)
		}
	}
	p := strings.Join(rep.Problems, "\n")
	if !strings.Contains(p, "longer than 256 bytes are ignored") || !strings.Contains(p, "only the first 16 are read") {
		t.Errorf("problems:\n%s", p)
	}
}

// TestCheckTorrentName: an enclosure URL that names no file gets the
// worker's name from the title and type.
func TestCheckTorrentName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.xml")
	const feed = `<rss version="2.0"><channel><title>T</title><item><title>Ep: one/two</title><guid>g1</guid>
<enclosure url="https://example.org/play?id=42" type="audio/mp4" length="9"/></item></channel></rss>`
	if err := os.WriteFile(path, []byte(feed), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := CheckFile(Options{}, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Items) != 1 || len(rep.Items[0].Enclosures) != 1 || rep.Items[0].Enclosures[0].TorrentName != "Ep one two.m4a" {
		t.Errorf("items %+v", rep.Items)
	}
}

// TestReportJSON: the names an HTTP API returns, and empty lists as [] (a
// client iterates them without a null check).
func TestReportJSON(t *testing.T) {
	rep, err := CheckFile(Options{}, "../testdata/feeds/podcastparser/simple.rss")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"title", "items", "problems", "refused", "locked", "verify_tokens"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	if _, ok := m["refusal"]; ok {
		t.Errorf("refusal given for a feed not refused: %s", b)
	}
	if toks, ok := m["verify_tokens"].([]any); !ok || len(toks) != 0 {
		t.Errorf("verify_tokens = %v, want []", m["verify_tokens"])
	}
	enc := m["items"].([]any)[0].(map[string]any)["enclosures"].([]any)[0].(map[string]any)
	for _, k := range []string{"url", "type", "length", "torrent_name"} {
		if _, ok := enc[k]; !ok {
			t.Errorf("enclosure has no %q: %v", k, enc)
		}
	}
}
