package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store/postgres/pgtest"
)

// startPostgres starts a PostgreSQL server for one test (CI: required, see requireTool).
func startPostgres(t *testing.T) *pgtest.Server {
	t.Helper()
	srv, err := pgtest.Start()
	if errors.Is(err, pgtest.ErrNotInstalled) && os.Getenv("SEEDCAST_REQUIRE_PEERS") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

// seedcast runs the binary to completion and returns its output.
func seedcast(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	c := exec.Command(binary, args...)
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return out.String(), err
}

// TestStoreCopyToPostgres moves a SQLite installation with published episodes and counted
// downloads to PostgreSQL with `seedcast store copy`: the report is the same figure for figure,
// the gateway serves and seeds from PostgreSQL without fetching anything from the origin, and a
// second process under the same node name is refused.
func TestStoreCopyToPostgres(t *testing.T) {
	pg := startPostgres(t)
	o := newOrigin(t, 2, 256<<10)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.start()
	f := g.waitPublished("show", 2, 60*time.Second)
	urls := torrentURLs(f)
	for _, ep := range o.episodes {
		mi := fetchTorrent(t, urls[ep.GUID])
		downloadOnce(t, mi, ep.Body)
		waitFor(t, 30*time.Second, "the download to be counted", func() error {
			_, _, downloaded, err := g.scrape(mi.HashInfoBytes())
			if err == nil && downloaded != 1 {
				err = fmt.Errorf("downloaded %d", downloaded)
			}
			return err
		})
	}
	g.stop()
	hits := o.hitCount(o.episodes[0].Path) + o.hitCount(o.episodes[1].Path)

	report := func(cfg string) string {
		t.Helper()
		out, err := seedcast(t, "report", "-config", cfg, "-feed", "show", "-format", "json")
		if err != nil {
			t.Fatalf("report: %v\n%s", err, out)
		}
		return regexp.MustCompile(`"generated_at": *"[^"]*"`).ReplaceAllString(out, "")
	}
	before := report(g.cfgPath)
	if !strings.Contains(before, `"downloads": 1`) {
		t.Fatalf("the SQLite report shows no download:\n%s", before)
	}

	dsn := pg.NewDatabase(t)
	out, err := seedcast(t, "store", "copy", "-config", g.cfgPath, "-to", dsn)
	if err != nil || !strings.Contains(out, "copied 1 feeds, 2 episodes, 2 counted downloads") {
		t.Fatalf("store copy: %v\n%s", err, out)
	}
	b, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	pgCfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(pgCfg, append(b, "\nstore:\n  driver: postgres\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SEEDCAST_STORE_DSN", dsn) // the password stays out of the file
	if out, err := seedcast(t, "migrate", "-config", pgCfg); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	if after := report(pgCfg); after != before {
		t.Fatalf("report after the copy differs:\n got %s\nwant %s", after, before)
	}

	g.cfgPath = pgCfg
	g.start()
	f2, _, err := g.outputFeed("show")
	if err != nil {
		t.Fatal(err)
	}
	if got := torrentURLs(f2); fmt.Sprint(got) != fmt.Sprint(urls) {
		t.Errorf("torrents served from PostgreSQL = %v, want %v", got, urls)
	}
	st, err := g.status()
	if err != nil || len(st) != 1 || st[0].Seeding != 2 {
		t.Errorf("status on PostgreSQL = %+v, %v; want 2 seeding", st, err)
	}
	if now := o.hitCount(o.episodes[0].Path) + o.hitCount(o.episodes[1].Path); now != hits {
		t.Errorf("the origin was asked for media %d times after the move", now-hits)
	}
	if out, err := seedcast(t, "poll", "-config", pgCfg); err == nil || !strings.Contains(out, "with this node.name is running") {
		t.Errorf("a second process under the same node.name: %v\n%s", err, out)
	}
}
