package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// apiCall sends a JSON request to the gateway's /api/v1 with the admin token.
func apiCall(t *testing.T, g *gateway, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, g.baseURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// TestRuntimeFeedsSurviveRestart: a feed added through the API and one added with `seedcast
// feeds add` beside the running daemon are both polled and published; after a restart both are
// still subscribed and scheduled; `seedcast feeds remove` beside the daemon takes one away.
func TestRuntimeFeedsSurviveRestart(t *testing.T) {
	api, cli := newOrigin(t, 1, 64<<10), newOrigin(t, 2, 64<<10)
	g := newGateway(t) // no feed in config.yaml
	b, err := os.ReadFile(g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "admin:\n  token: "+adminToken+"\n"...)
	if err := os.WriteFile(g.cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	g.start()
	defer g.stop()
	if code, out := apiCall(t, g, "POST", "/api/v1/feeds", `{"url": "`+api.feedURL()+`", "slug": "by-api"}`); code != 201 {
		t.Fatalf("POST /api/v1/feeds: %d %v", code, out)
	}
	g.waitPublished("by-api", 1, 60*time.Second)

	feeds := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(binary, append([]string{"feeds", args[0], "-config", g.cfgPath}, args[1:]...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("seedcast feeds %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	if out := feeds("add", "-slug", "by-cli", cli.feedURL()); !strings.Contains(out, "added by-cli") {
		t.Fatalf("feeds add: %s", out)
	}
	// The daemon picks it up at its next sync (every 10 s) and polls it at once.
	g.waitPublished("by-cli", 2, 60*time.Second)

	g.stop()
	g.start()
	for _, slug := range []string{"by-api", "by-cli"} {
		code, out := apiCall(t, g, "GET", "/api/v1/feeds/"+slug, "")
		if code != 200 || out["origin"] != "runtime" || out["next_poll"] == nil {
			t.Fatalf("after restart, %s: %d %v", slug, code, out)
		}
	}
	g.waitPublished("by-cli", 2, 10*time.Second)

	if out := feeds("remove", "by-cli"); !strings.Contains(out, "removed by-cli") {
		t.Fatalf("feeds remove: %s", out)
	}
	waitFor(t, 30*time.Second, "the removed feed to go", func() error {
		resp, err := http.Get(g.baseURL() + "/feeds/by-cli.rss")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	if out := feeds("list"); strings.Contains(out, "by-cli") || !strings.Contains(out, "by-api") {
		t.Fatalf("feeds list after remove:\n%s", out)
	}
}
