package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seedcast/seedcast/store"
)

// testSearch: Search finds a podcast by its title and a published, listed episode by a word of
// its description, every word required, in any case; it follows edits and delistings, ignores
// unpublished episodes, reads query syntax as plain words and honours the limit.
func testSearch(t *testing.T, open Opener) {
	ctx := context.Background()
	s, _ := open(t)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if err := s.EnsureFeed(ctx, "birds", "http://example.com/birds.xml"); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureFeed(ctx, "rocks", "http://example.com/rocks.xml"); err != nil {
		t.Fatal(err)
	}
	birds := store.Feed{Slug: "birds", Title: "Birdsong Weekly", Author: "Ada Lovelace", Description: "Songs of the garden"}
	eps := []store.Episode{
		{Key: "guid:0", GUID: "0", Position: 0, Title: "The Wren", Description: "<p>A tiny <b>wren</b> sings at dawn</p>",
			EnclosureURL: "http://example.com/wren.mp3", Published: t0},
		{Key: "guid:1", GUID: "1", Position: 1, Title: "The Robin", Description: "Robins in winter",
			Content: "<p>Recorded near the marshland</p>", EnclosureURL: "http://example.com/robin.mp3", Published: t0.Add(-time.Hour)},
		{Key: "guid:2", GUID: "2", Position: 2, Title: "Owls", Description: "Owls hunt at dawn",
			EnclosureURL: "http://example.com/owl.mp3"}, // never published
	}
	if err := s.SaveChannel(ctx, birds, eps, t0); err != nil {
		t.Fatal(err)
	}
	rocks := []store.Episode{{Key: "guid:r", GUID: "r", Title: "Granite", Description: "Granite at dawn",
		EnclosureURL: "http://example.com/granite.mp3"}}
	if err := s.SaveChannel(ctx, store.Feed{Slug: "rocks", Title: "Rock Talk", Description: "Geology"}, rocks, t0); err != nil {
		t.Fatal(err)
	}
	publish := func(slug, key string, n int) string {
		t.Helper()
		ih := fmt.Sprintf("%040x", n)
		if err := s.Publish(ctx, slug, key, store.Publication{InfoHash: ih, TorrentPath: "torrents/" + ih + ".torrent",
			TorrentSize: 1, MediaPath: "media/" + ih, MediaSize: 1, At: t0}); err != nil {
			t.Fatal(err)
		}
		return ih
	}
	wren, robin := publish("birds", "guid:0", 1), publish("birds", "guid:1", 2)
	granite := publish("rocks", "guid:r", 3)

	type hit struct{ slug, key, title, ih string }
	search := func(q string, limit int) []hit {
		t.Helper()
		hs, err := s.Search(ctx, q, limit)
		if err != nil {
			t.Fatalf("Search(%q): %v", q, err)
		}
		var out []hit
		for _, h := range hs {
			out = append(out, hit{h.FeedSlug, h.EpisodeKey, h.Title, h.InfoHash})
		}
		return out
	}
	want := func(q string, limit int, w ...hit) {
		t.Helper()
		got := search(q, limit)
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("Search(%q, %d) = %v, want %v", q, limit, got, w)
		}
	}
	want("marshland", 10, hit{"birds", "guid:1", "The Robin", robin}) // a word of the content
	want("WREN", 10, hit{"birds", "guid:0", "The Wren", wren})
	want("tiny dawn", 10, hit{"birds", "guid:0", "The Wren", wren}) // every word
	want("tiny granite", 10)
	want("birdsong", 10, hit{"birds", "", "Birdsong Weekly", ""})
	want("lovelace", 10, hit{"birds", "", "Birdsong Weekly", ""}) // the author
	want("owls", 10)                                              // unpublished
	want("", 10)
	want("  ... ", 10)
	if got := search("dawn", 10); len(got) != 2 {
		t.Errorf("Search(dawn) = %v, want the wren and the granite", got)
	}
	if got := search("dawn", 1); len(got) != 1 {
		t.Errorf("Search(dawn, 1) = %v, want one hit", got)
	}
	// Query syntax of either engine is only words.
	want(`"granite" OR NEAR(x) wren* -robin & !`, 10)
	want(`granite:*`, 10, hit{"rocks", "guid:r", "Granite", granite})
	want(strings.Repeat("x", 5000), 10)

	// An edit of the description moves the index with it; a delisted episode leaves it.
	eps[0].Description = "A sparrow now"
	if err := s.SaveChannel(ctx, birds, eps[:1], t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want("sparrow", 10, hit{"birds", "guid:0", "The Wren", wren})
	want("tiny", 10)
	want("marshland", 10)
	// A superseded torrent is not the episode's any more.
	if err := s.Supersede(ctx, "birds", "guid:0"); err != nil {
		t.Fatal(err)
	}
	want("sparrow", 10)
}
