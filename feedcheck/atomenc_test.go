package feedcheck

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// Check lists an Atom-style enclosure (atom:link rel="enclosure" in RSS, a
// link rel="enclosure" in Atom) as media the worker makes a torrent of, a URL
// given both ways once, and an item with only rel="alternate" as without media.
func TestCheckAtomStyleEnclosures(t *testing.T) {
	for _, tt := range []struct {
		file string
		encs [][]string // per item, the enclosure URLs check lists
	}{
		{"podlove.rss", [][]string{
			{"https://example.org/media/pl001.mp3", "file://{dir}/media/pl001.opus"},
			{"https://example.org/media/pl002.mp3"},
			{"https://example.org/media/pl003.mp4", "https://example.org/media/pl003.webm"},
			nil}},
		{"entries.atom", [][]string{
			{"https://example.org/media/atom1.mp3", "https://cdn.example.org/one/atom1.m4a"},
			{"https://example.org/atom/media/atom2.ogg", "https://example.org/media/atom2.mp3", "https://cdn.example.org/two/atom2.opus"},
			nil}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			dir, err := filepath.Abs("../feeds/testdata/atomenc")
			if err != nil {
				t.Fatal(err)
			}
			rep, err := CheckFile(Options{}, filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Refused {
				t.Fatalf("refused: %s", rep.Refusal)
			}
			if len(rep.Items) != len(tt.encs) {
				t.Fatalf("%d items, want %d: %+v", len(rep.Items), len(tt.encs), rep.Items)
			}
			for i, it := range rep.Items {
				var got []string
				for _, e := range it.Enclosures {
					got = append(got, e.URL)
				}
				// A relative href resolves against the file's own URL.
				want := strings.ReplaceAll(strings.Join(tt.encs[i], " "), "{dir}", filepath.ToSlash(dir))
				if strings.Join(got, " ") != want {
					t.Errorf("item %d %q: check lists %v, want %v", i+1, it.Title, got, want)
				}
			}
			last := fmt.Sprintf("item %d %q", len(rep.Items), rep.Items[len(rep.Items)-1].Title)
			problems := strings.Join(rep.Problems, "\n")
			if !strings.Contains(problems, last+" has no enclosure") {
				t.Errorf("problems do not name the item without media: %q", rep.Problems)
			}
			// It says why the audio link there is no torrent.
			if !strings.Contains(problems, last+` links to https://example.org/media/not-media.mp3 (audio/mpeg) with rel="alternate", not rel="enclosure"`) {
				t.Errorf("problems do not explain the rel=alternate audio link: %q", rep.Problems)
			}
		})
	}
}
