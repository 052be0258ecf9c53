// Command groupby-submit splits rows into groups, submits one task per
// group, collects the futures as they complete and concatenates the
// results: the notes' groupby → executor.submit → as_completed → pd.concat,
// once with a function returning one value and once with one returning
// two.
//
//	go run ./examples/groupby-submit
package main

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/mp-go/mp"
)

type sale struct {
	City   string
	Amount float64
}

// Two return values travel as one struct: Go's form of returning a tuple.
type split struct {
	Big, Small []sale
}

var (
	// one value per group: the rows with a share of their group's total
	normalise = mp.Register("groupby-submit.normalise", func(_ context.Context, g mp.Group[string, sale]) ([]string, error) {
		total := 0.0
		for _, s := range g.Items {
			total += s.Amount
		}
		var out []string
		for _, s := range g.Items {
			out = append(out, fmt.Sprintf("%s %.0f (%.0f%%)", s.City, s.Amount, 100*s.Amount/total))
		}
		return out, nil
	})
	// two values per group
	partition = mp.Register("groupby-submit.partition", func(_ context.Context, g mp.Group[string, sale]) (split, error) {
		var r split
		for _, s := range g.Items {
			if s.Amount >= 100 {
				r.Big = append(r.Big, s)
			} else {
				r.Small = append(r.Small, s)
			}
		}
		return r, nil
	})
)

func main() {
	ctx := context.Background()
	rows := []sale{{"Taipei", 120}, {"Osaka", 40}, {"Taipei", 60}, {"Lyon", 300}, {"Osaka", 90}, {"Lyon", 20}}
	groups := mp.GroupBy(rows, func(s sale) string { return s.City })

	pool, err := mp.NewPool(mp.Threads(4))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// One return value.
	var futures []*mp.Future[[]string]
	for _, g := range groups {
		futures = append(futures, mp.Submit(ctx, pool, normalise, g))
	}
	var parts [][]string
	for f, err := range mp.AsCompleted(ctx, futures, mp.Progress("normalise")) {
		if err != nil {
			log.Fatal(err)
		}
		part, err := f.Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		parts = append(parts, part)
	}
	all := slices.Concat(parts...)
	slices.Sort(all) // as_completed order varies; sort for a stable printout
	fmt.Println("normalised:", all)

	// Two return values: concatenate each separately.
	var splits []*mp.Future[split]
	for _, g := range groups {
		splits = append(splits, mp.Submit(ctx, pool, partition, g))
	}
	var big, small []sale
	for f, err := range mp.AsCompleted(ctx, splits) {
		if err != nil {
			log.Fatal(err)
		}
		r, err := f.Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		big = append(big, r.Big...)
		small = append(small, r.Small...)
	}
	fmt.Printf("%d big and %d small sales\n", len(big), len(small))

	// In group order instead of completion order: Map keeps the order.
	ordered, err := mp.Map(ctx, pool, normalise, groups)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("in group order:", slices.Concat(ordered...))
}
