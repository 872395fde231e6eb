package main

import (
	"bytes"
	"strings"
	"testing"
)

// check's text output names each enclosure's torrent and quotes the
// channel's verify tokens (a stranger's text on a terminal).
func TestCheckPrintsVerifyTokens(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"check", "../../feeds/testdata/podcasttxt/verify.rss"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, s := range []string{
		`torrent name: "ep1.mp3"`,
		`verify token: "S6L5-3f9a2c71d0b84e6f"`,
		`verify token: "second-token-with-spaces-around"`,
		"verdict: would be republished",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %s:\n%s", s, out.String())
		}
	}
	if strings.Contains(out.String(), "item-level-token") {
		t.Errorf("an item's txt shown as the channel's:\n%s", out.String())
	}
}
