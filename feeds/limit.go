package feeds

import (
	"fmt"
	"slices"
	"time"
)

// DefaultMaxItems is fetch.max_items' default: more than any real podcast
// lists, few enough that a feed of tiny items cannot flood the store.
const DefaultMaxItems = 10000

// KeepNewest cuts f to its max newest items (by pubDate; items without one
// count as older than any dated item, and among themselves the earlier in
// the feed is the newer, as feeds list newest first). The kept items stay in
// source order. It returns how many were left out and says so in f.Warnings.
func (f *Feed) KeepNewest(max int) int {
	total := len(f.Items)
	if max <= 0 || total <= max {
		return 0
	}
	keep := newest(total, max, func(i int) time.Time { return f.Items[i].Published })
	items := make([]Item, 0, max)
	for i, it := range f.Items {
		if keep[i] {
			items = append(items, it)
		}
	}
	f.Items = items
	omitted := total - max
	f.Omitted += omitted
	f.Warnings = append(f.Warnings, OmittedWarning(omitted, total, max))
	return omitted
}

// newest marks the max newest of n items whose dates date gives: undated
// ones count as older than any dated one, and among equals the earlier in
// the feed is the newer (feeds list newest first).
func newest(n, max int, date func(int) time.Time) []bool {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		da, db := date(a), date(b)
		switch {
		case da.IsZero() && db.IsZero():
			return 0
		case da.IsZero():
			return 1
		case db.IsZero():
			return -1
		}
		return db.Compare(da)
	})
	keep := make([]bool, n)
	for _, i := range order[:min(max, n)] {
		keep[i] = true
	}
	return keep
}

// OmittedWarning says in plain words that a feed was cut to fetch.max_items.
func OmittedWarning(omitted, total, max int) string {
	return fmt.Sprintf("%d of %d items left out: only the newest %d are kept (fetch.max_items is %d)",
		omitted, total, max, max)
}
