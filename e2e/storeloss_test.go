package e2e

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store/storetest"
)

// TestLostStoreRefusesToStart empties seedcast.db beside published media and torrents, as a
// bad restore or a full disk at the wrong moment would: serve and poll refuse to start, naming
// the file, instead of downloading everything again and showing sponsors zero.
func TestLostStoreRefusesToStart(t *testing.T) {
	o := newOrigin(t, 1, 64<<10)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.start()
	g.waitPublished("show", 1, 60*time.Second)
	g.stop()

	db := filepath.Join(g.dataDir, "seedcast.db")
	for _, what := range []string{"empty", "missing"} {
		if what == "empty" {
			if err := os.Truncate(db, 0); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Remove(db); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range []string{"serve", "poll"} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			var out bytes.Buffer
			c := exec.CommandContext(ctx, binary, cmd, "-config", g.cfgPath)
			c.Stdout, c.Stderr = &out, &out
			err := c.Run()
			timedOut := ctx.Err() != nil
			cancel()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || timedOut {
				t.Fatalf("%s with the store %s: %v, want a refusal; output:\n%s", cmd, what, err, &out)
			}
			for _, want := range []string{db, "1 torrent files", "1 media files", "restore the store"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("%s with the store %s: output does not say %q:\n%s", cmd, what, want, &out)
				}
			}
		}
		if fi, err := os.Stat(db); what == "missing" && err == nil {
			t.Errorf("the refused start created %s (%d bytes)", db, fi.Size())
		}
	}
	if n := o.hitCount(o.episodes[0].Path); n != 1 {
		t.Errorf("the episode was downloaded %d times, want once", n)
	}
}

// TestDamagedStoreFailsHealthz damages the episodes table on disk: /status answers 500, and
// /healthz must say so too (503) instead of keeping the gateway in its load balancer.
func TestDamagedStoreFailsHealthz(t *testing.T) {
	o := newOrigin(t, 1, 64<<10)
	g := newGateway(t, feedEntry{"show", o.feedURL()})
	g.start()
	g.waitPublished("show", 1, 60*time.Second)
	g.stop()

	storetest.CorruptTable(t, filepath.Join(g.dataDir, "seedcast.db"), "episodes")
	g.launch()
	code := func(path string) (int, error) {
		resp, err := http.Get(g.baseURL() + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	waitFor(t, 30*time.Second, "/status to answer 500 from the damaged store", func() error {
		c, err := code("/status")
		if err == nil && c != 500 {
			err = errors.New(http.StatusText(c))
		}
		return err
	})
	c, err := code("/healthz")
	if err != nil || c != http.StatusServiceUnavailable {
		t.Fatalf("/healthz = %d, %v; want 503", c, err)
	}
	if !strings.Contains(g.logs.String(), "database disk image is malformed") {
		t.Errorf("the log does not say the store is damaged:\n%s", g.logs.String())
	}
}
