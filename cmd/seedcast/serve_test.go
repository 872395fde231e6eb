package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesOutOfRangeConfig runs `seedcast serve` (this test binary,
// re-run as the command) on configs whose values used to pass validation and
// then break the daemon: it must exit 1 at start, naming the key. Were a
// value accepted, serve would run until the deadline kills it.
func TestServeRefusesOutOfRangeConfig(t *testing.T) {
	if args := os.Getenv("SEEDCAST_TEST_RUN"); args != "" {
		os.Exit(run(strings.Split(args, "\n"), os.Stdout, os.Stderr))
	}
	for _, tc := range []struct{ key, yaml string }{
		{"fetch.max_feed_bytes", "fetch:\n  max_feed_bytes: 9223372036854775807\n"},
		{"tracker.announce_interval", "tracker:\n  announce_interval: 2000000h\n"},
		{"schedule.poll", "schedule:\n  poll: \"@every -15m\"\n"},
		{"schedule.poll", "schedule:\n  poll: \"@every 0s\"\n"},
		{"fetch.user_agent", "fetch:\n  user_agent: \"Seedcast\\r\\nX-Injected: 1\"\n"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.yaml")
			// Everything else is valid and local, so only the bad value can stop serve.
			base := fmt.Sprintf("data_dir: %s\nhttp: {listen: \"127.0.0.1:0\"}\nseedbox: {peer_port: 1, dht: false}\ndemo: false\n",
				filepath.Join(dir, "data"))
			if err := os.WriteFile(cfg, []byte(base+tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestServeRefusesOutOfRangeConfig$")
			cmd.Env = append(os.Environ(), "SEEDCAST_TEST_RUN=serve\n-config\n"+cfg)
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("serve accepted %q and ran:\n%s", tc.yaml, out)
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), tc.key+": ") {
				t.Fatalf("exit %d (%v), want 1 and an error naming %s:\n%s", code, err, tc.key, out)
			}
		})
	}
}
