package feeds

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrLocked is returned by Refusal for a feed whose owner asked, with
// <podcast:locked>yes</podcast:locked>, that it not be republished.
var ErrLocked = errors.New("the feed says <podcast:locked>yes</podcast:locked>: its owner does not want it " +
	"republished; set owner_consent: true on this feed only if you are the owner or have their permission")

// Refusal returns why the gateway must not republish f, or nil. The worker
// and `seedcast check` share it so both refuse the same feeds.
func Refusal(f *Feed, ownerConsent bool) error {
	if f.Locked && !ownerConsent {
		return ErrLocked
	}
	return nil
}

// Problems lists, in plain words, what a podcaster should know about how the
// gateway will republish f: what it drops, guesses or cannot turn into a
// torrent. It does not include the refusal; see Refusal.
func Problems(f *Feed) []string {
	var ps []string
	add := func(format string, a ...any) { ps = append(ps, fmt.Sprintf(format, a...)) }
	if f.Title == "" {
		add("the channel has no title; podcast apps will show the feed without a name")
	}
	if len(f.Items) == 0 {
		add("the feed has no items: there is nothing to republish")
	}
	if f.NewFeedURL != "" {
		add("the feed says it moved to %s (itunes:new-feed-url); the gateway leaves that tag out and keeps polling this URL", f.NewFeedURL)
	}
	ps = append(ps, f.Warnings...)
	seen := map[string]int{}
	for i, it := range f.Items {
		name := fmt.Sprintf("item %d %q", i+1, it.Title)
		if it.Title == "" {
			name = fmt.Sprintf("item %d (untitled)", i+1)
		}
		if first, dup := seen[it.Key]; dup {
			add("%s has the same identity (%s) as item %d: only the first is republished", name, it.Key, first+1)
			continue
		}
		seen[it.Key] = i
		if it.GUID == "" {
			add("%s has no guid; the gateway identifies it by %s, so changing that later republishes it", name, it.Key)
		}
		// What the worker makes torrents of: MediaEnclosures, one per URL.
		encs := it.MediaEnclosures()
		switch n := len(encs); {
		case n == 0:
			add("%s has no enclosure: there is no media to turn into a torrent", name)
		case n > 1:
			add("%s has %d enclosures (counting atom:link rel=enclosure and podcast:alternateEnclosure): the gateway makes a torrent of each, %s first", name, n, encs[0].URL)
		}
		for _, l := range it.NotMedia {
			add("%s links to %s (%s) with rel=%q, not rel=\"enclosure\": the gateway makes no torrent of it", name, l.URL, l.Type, l.Rel)
		}
		times := map[string]int{}
		for _, e := range it.Enclosures {
			times[e.URL]++
		}
		for _, e := range encs {
			if n := times[e.URL]; n > 1 {
				add("%s lists %s %d times (as enclosure and podcast:alternateEnclosure): it gets one torrent, with the type and length first given", name, e.URL, n)
			}
		}
		for _, e := range encs {
			if !isHTTP(e.URL) {
				add("%s: enclosure %s is not an http(s) URL and cannot be downloaded", name, e.URL)
			}
			if e.Type == "" {
				add("%s: enclosure %s has no type", name, e.URL)
			}
			if e.Length == 0 {
				add("%s: enclosure %s declares no usable length", name, e.URL)
			}
		}
	}
	return ps
}

// isHTTP reports whether s is an absolute http(s) URL.
func isHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.TrimSpace(u.Host) != ""
}
