package feeds

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

func readTxtFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/podcasttxt/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseVerifyTokens reads the channel's podcast:txt purpose="verify"
// texts, by namespace (the fixture binds it to "pi"), and no other txt.
func TestParseVerifyTokens(t *testing.T) {
	f, err := Parse(readTxtFixture(t, "verify.rss"), "https://example.org/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"S6L5-3f9a2c71d0b84e6f", "second-token-with-spaces-around"}
	if !slices.Equal(f.VerifyTokens, want) {
		t.Errorf("VerifyTokens = %q, want %q", f.VerifyTokens, want)
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings: %q", f.Warnings)
	}
	// Every channel-level txt is still copied through for the output feed,
	// under the podcast prefix; the item's stays with the item.
	if n := strings.Count(f.Extra, "<podcast:txt"); n != 4 {
		t.Errorf("channel Extra has %d podcast:txt, want 4:\n%s", n, f.Extra)
	}
	for _, s := range []string{`<podcast:txt purpose="applepodcastsverify">d66c5c6e-`, `<podcast:txt>a note with no purpose</podcast:txt>`} {
		if !strings.Contains(f.Extra, s) {
			t.Errorf("channel Extra lacks %s:\n%s", s, f.Extra)
		}
	}
	if len(f.Items) != 1 || !strings.Contains(f.Items[0].Extra, "item-level-token-not-the-channels") {
		t.Errorf("the item's txt is not in its Extra: %+v", f.Items)
	}
}

// TestParseVerifyTokensHostile: a wrong namespace, purpose or level does not
// count, an oversized token is left out, and at most MaxVerifyTokens are
// kept, each once, with warnings saying so.
func TestParseVerifyTokensHostile(t *testing.T) {
	body := readTxtFixture(t, "hostile.rss")
	f, err := Parse(body, "https://example.org/feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pi-token", "after-item-token", strings.Repeat("C", MaxVerifyTokenBytes)}
	for i := 1; len(want) < MaxVerifyTokens; i++ {
		want = append(want, fmt.Sprintf("tok-%02d", i))
	}
	if !slices.Equal(f.VerifyTokens, want) {
		t.Errorf("VerifyTokens =\n%q\nwant\n%q", f.VerifyTokens, want)
	}
	for _, tok := range f.VerifyTokens {
		if len(tok) > MaxVerifyTokenBytes {
			t.Errorf("a token of %d bytes was kept", len(tok))
		}
	}
	ws := strings.Join(f.Warnings, "\n")
	for _, s := range []string{
		`2 podcast:txt purpose="verify" token(s) longer than 256 bytes are ignored`,
		`the channel has 43 podcast:txt purpose="verify" tokens: only the first 16 are read`,
	} {
		if !strings.Contains(ws, s) {
			t.Errorf("warnings do not say %q:\n%s", s, ws)
		}
	}
	// Problems (what check shows) carries the warnings.
	if ps := strings.Join(Problems(f), "\n"); !strings.Contains(ps, "only the first 16 are read") {
		t.Errorf("problems: %s", ps)
	}
	// Output keeps every channel-level txt of the podcastindex namespace,
	// even those not read as tokens: 50 direct children plus the nested one.
	if n := strings.Count(f.Extra, "<podcast:txt"); n != 51 {
		t.Errorf("channel Extra has %d podcast:txt, want 51", n)
	}
}
