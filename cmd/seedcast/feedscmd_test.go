package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFeedsCommand(t *testing.T) {
	origin := adminOrigin(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	text := fmt.Sprintf("data_dir: %s\nhttp: {listen: \"127.0.0.1:0\"}\nseedbox: {peer_port: 1, dht: false}\ndemo: false\n"+
		"fetch: {allow_private_networks: true}\nfeeds:\n  - slug: pinned\n    url: %s/pinned.xml\n", filepath.Join(dir, "data"), origin.URL)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	feeds := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"feeds", args[0], "-config", path}, args[1:]...), &out, &errb)
		return code, out.String(), errb.String()
	}
	list := func() []feedLine {
		t.Helper()
		code, out, errs := feeds("list", "-json")
		var lines []feedLine
		if code != 0 || json.Unmarshal([]byte(out), &lines) != nil {
			t.Fatalf("list: %d %s %s", code, out, errs)
		}
		return lines
	}
	if l := list(); len(l) != 1 || l[0].Slug != "pinned" || l[0].Origin != "config" {
		t.Fatalf("list of a fresh store: %+v", l)
	}
	if code, _, errs := feeds("add", origin.URL+"/bad.xml"); code != 1 || !strings.Contains(errs, "refuse") {
		t.Fatalf("add of a broken feed: %d %s", code, errs)
	}
	if code, out, errs := feeds("add", "-slug", "good", origin.URL+"/good.xml"); code != 0 || !strings.Contains(out, "added good (Good Show)") {
		t.Fatalf("add: %d %s %s", code, out, errs)
	}
	if code, _, errs := feeds("add", "-slug", "again", origin.URL+"/good.xml"); code != 1 || !strings.Contains(errs, "already") {
		t.Fatalf("add of the same URL: %d %s", code, errs)
	}
	if code, _, errs := feeds("pause", "good"); code != 0 {
		t.Fatalf("pause: %d %s", code, errs)
	}
	if l := list(); len(l) != 2 || l[0].Slug != "good" || !l[0].Paused || l[0].Origin != "runtime" {
		t.Fatalf("list after pause: %+v", l)
	}
	if code, out, _ := feeds("list"); code != 0 || !strings.Contains(out, "paused") || !strings.Contains(out, "SLUG") {
		t.Fatalf("table: %s", out)
	}
	if code, _, errs := feeds("remove", "pinned"); code != 1 || !strings.Contains(errs, "config.yaml") {
		t.Fatalf("remove pinned: %d %s", code, errs)
	}
	if code, _, errs := feeds("remove", "-delete-media", "good"); code != 0 {
		t.Fatalf("remove: %d %s", code, errs)
	}
	if l := list(); len(l) != 1 {
		t.Fatalf("list after remove: %+v", l)
	}
	if code, _, errs := feeds("remove", "good"); code != 1 || !strings.Contains(errs, "not found") {
		t.Fatalf("remove twice: %d %s", code, errs)
	}
	if code, _, _ := feeds("frobnicate"); code != 2 {
		t.Fatalf("unknown subcommand: %d", code)
	}
}
