package cluster

import (
	"fmt"
	"slices"
	"testing"
)

func hashes(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%040x", i*7919))
	}
	return out
}

func TestAssign(t *testing.T) {
	live := []string{"n1", "n2", "n3", "n4", "n5"}
	for _, ih := range hashes(200) {
		got := Assign(ih, "n3", live, 2)
		if len(got) != 2 || got[0] != "n3" || got[1] == "n3" {
			t.Fatalf("%s: %v; want the maker n3 and one other", ih, got)
		}
		// The order of the live list does not matter.
		rev := slices.Clone(live)
		slices.Reverse(rev)
		if other := Assign(ih, "n3", rev, 2); !slices.Equal(other, got) {
			t.Fatalf("%s: %v with the list reversed, %v before", ih, other, got)
		}
	}
	// A dead maker is replaced; fewer live nodes than replicas: all of them.
	if got := Assign(hashes(1)[0], "gone", []string{"a", "b"}, 3); len(got) != 2 || slices.Contains(got, "gone") {
		t.Fatalf("dead maker, two live: %v", got)
	}
	if got := Assign(hashes(1)[0], "a", nil, 2); got != nil {
		t.Fatalf("no live node: %v", got)
	}
}

// When a node leaves, only the torrents it seeded move, and each to one new node; the load
// spreads over every node.
func TestAssignMovesLittleAndSpreads(t *testing.T) {
	live := []string{"n1", "n2", "n3", "n4", "n5"}
	without := []string{"n1", "n2", "n4", "n5"}
	load := map[string]int{}
	moved := 0
	for _, ih := range hashes(5000) {
		before := Assign(ih, "", live, 2)
		after := Assign(ih, "", without, 2)
		for _, n := range before {
			load[n]++
		}
		if !slices.Contains(before, "n3") {
			if !slices.Equal(before, after) {
				t.Fatalf("%s moved from %v to %v though n3 did not seed it", ih, before, after)
			}
			continue
		}
		moved++
		kept := 0
		for _, n := range before {
			if slices.Contains(after, n) {
				kept++
			}
		}
		if kept != 1 {
			t.Fatalf("%s: %v became %v; want the other replica kept", ih, before, after)
		}
	}
	// 2 of 5 nodes per torrent: each seeds about 40 %, n3's share moves.
	for n, c := range load {
		if c < 1700 || c > 2300 {
			t.Errorf("%s seeds %d of 5000 torrents, want about 2000", n, c)
		}
	}
	if moved < 1700 || moved > 2300 {
		t.Errorf("%d torrents moved when n3 left, want about 2000", moved)
	}
}
