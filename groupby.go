package mp

import "iter"

// Group is the items of a GroupBy that share one key.
type Group[K comparable, T any] struct {
	Key   K
	Items []T
}

// GroupBy splits items into groups by key, in the order each key is first
// seen, keeping the items' order inside each group (pandas'
// df.groupby(col, sort=False)). Groups need not be adjacent in the input.
//
// The pandas pattern "group, apply each group in parallel, concat" is
// GroupBy, then Map (or Submit and AsCompleted) over the groups, then
// slices.Concat over the per-group results, which Map keeps in group
// order:
//
//	groups := mp.GroupBy(rows, func(r Row) string { return r.Store })
//	fits, err := mp.Map(ctx, pool, fit, groups) // one result per group
//	all, err := mp.Map(ctx, pool, transform, groups) // []Row per group
//	rows = slices.Concat(all...)
func GroupBy[T any, K comparable](items []T, key func(T) K) []Group[K, T] {
	return GroupBySeq(func(yield func(T) bool) {
		for _, it := range items {
			if !yield(it) {
				return
			}
		}
	}, key)
}

// GroupBySeq is GroupBy over a sequence. It reads the whole sequence.
func GroupBySeq[T any, K comparable](items iter.Seq[T], key func(T) K) []Group[K, T] {
	index := map[K]int{}
	var groups []Group[K, T]
	for it := range items {
		k := key(it)
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, Group[K, T]{Key: k})
		}
		groups[i].Items = append(groups[i].Items, it)
	}
	return groups
}
