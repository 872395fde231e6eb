package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seedcast/seedcast/publisher"
)

// TestPagination: one podcast and one episode per page on the fixture: each page shows one,
// links its neighbours, and a page out of range is the nearest one.
func TestPagination(t *testing.T) {
	fx := newFixture(t)
	h := New(Config{Links: publisher.Config{PublicURL: publicURL}, DirectoryPage: 1, EpisodesPage: 1},
		fx.st, nil, artOrigin(t), slog.New(slog.DiscardHandler))
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return b.String()
	}
	p1 := get("/")
	if !strings.Contains(p1, "Birdsong Weekly") || strings.Contains(p1, "Rock &lt;Talk&gt;") ||
		!strings.Contains(p1, "Page 1 of 2") || !strings.Contains(p1, `rel="next" href="/?page=2"`) || strings.Contains(p1, `rel="prev"`) {
		t.Fatalf("directory page 1:\n%s", p1)
	}
	p2 := get("/?page=2")
	if strings.Contains(p2, "Birdsong Weekly") || !strings.Contains(p2, "Rock &lt;Talk&gt;") || !strings.Contains(p2, `rel="prev" href="/"`) {
		t.Fatalf("directory page 2:\n%s", p2)
	}
	if far := get("/?page=999"); !strings.Contains(far, "Page 2 of 2") {
		t.Fatal("a page past the end is not the last page")
	}
	if bad := get("/?page=-3"); !strings.Contains(bad, "Page 1 of 2") {
		t.Fatal("a negative page is not the first page")
	}
	e1, e2 := get("/podcasts/birds"), get("/podcasts/birds?page=2")
	if !strings.Contains(e1, ">The Wren</a></td>") || strings.Contains(e1, ">The Robin</a></td>") || !strings.Contains(e1, `href="/podcasts/birds?page=2"`) {
		t.Fatalf("episodes page 1:\n%s", e1)
	}
	if !strings.Contains(e2, ">The Robin</a></td>") || strings.Contains(e2, ">The Wren</a></td>") {
		t.Fatalf("episodes page 2:\n%s", e2)
	}
}
