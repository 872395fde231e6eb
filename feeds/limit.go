package feeds

import (
	"fmt"
	"slices"
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
	order := make([]int, total)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		pa, pb := f.Items[a].Published, f.Items[b].Published
		switch {
		case pa.IsZero() && pb.IsZero():
			return 0
		case pa.IsZero():
			return 1
		case pb.IsZero():
			return -1
		}
		return pb.Compare(pa) // newest first
	})
	keep := order[:max]
	slices.Sort(keep)
	items := make([]Item, 0, max)
	for _, i := range keep {
		items = append(items, f.Items[i])
	}
	f.Items = items
	omitted := total - max
	f.Omitted += omitted
	f.Warnings = append(f.Warnings, OmittedWarning(omitted, total, max))
	return omitted
}

// OmittedWarning says in plain words that a feed was cut to fetch.max_items.
func OmittedWarning(omitted, total, max int) string {
	return fmt.Sprintf("%d of %d items left out: only the newest %d are kept (fetch.max_items is %d)",
		omitted, total, max, max)
}
