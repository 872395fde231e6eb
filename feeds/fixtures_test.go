package feeds

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestFixtureOutcomes asserts what the gateway does with every fixture under
// ../shared/feeds: ingested with N items, or refused and why. The table is
// testdata/fixtures.golden, reviewed by eye when regenerated with -update.
func TestFixtureOutcomes(t *testing.T) {
	var files []string
	err := filepath.WalkDir(fixtures, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && isFixture(d.Name()) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	if len(files) < 240 {
		t.Fatalf("only %d fixtures found", len(files))
	}
	var b strings.Builder
	for _, fn := range files {
		rel, _ := filepath.Rel(fixtures, fn)
		body, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s\t%s\n", filepath.ToSlash(rel), outcome(body))
	}
	golden(t, "fixtures", b.String())
}

// isFixture leaves out the licence files that sit next to the feeds.
func isFixture(name string) bool {
	switch filepath.Ext(name) {
	case ".xml", ".rss", ".atom":
		return true
	}
	return false
}

// outcome is one line of the table: refused and why, or what is published.
func outcome(body []byte) string {
	const feedURL = "https://example.org/feed.xml"
	f, err := Parse(body, feedURL)
	if err != nil {
		return "refused: " + strings.TrimPrefix(err.Error(), "feeds: parse "+feedURL+": ")
	}
	if err := Refusal(f, false); err != nil {
		return "refused: locked"
	}
	encs, without := 0, 0
	for _, it := range f.Items {
		encs += len(it.Enclosures)
		if len(it.Enclosures) == 0 {
			without++
		}
	}
	return fmt.Sprintf("published %d items (%d enclosures, %d items without), %d problems",
		len(f.Items), encs, without, len(Problems(f)))
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (run go test -update if intended)\ngot:\n%s", path, got)
	}
}
