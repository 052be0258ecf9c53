package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mp-go/mp"
)

// runStatsCost times Map over 200,000 ints on goroutines and on worker
// processes (chunked, and one item per task): the cases where Pool.Stats'
// counters would show, as they are updated per chunk, per task and per
// frame. Run it on two commits to compare (docs/benchmarks.md).
func runStatsCost() {
	ctx := context.Background()
	const n = 200_000
	in := ints(n)
	rounds := max(*runs, 3)
	time1 := func(name string, items int, fn func()) {
		var ts []float64
		for range rounds {
			t0 := time.Now()
			fn()
			ts = append(ts, float64(time.Since(t0).Nanoseconds())/float64(items))
		}
		fmt.Printf("| %s | %.1f | %.1f |\n", name, median(ts), slices.Min(ts))
	}
	threads, err := mp.NewPool(mp.Threads(*workers))
	check(err)
	defer threads.Close()
	procs, err := mp.NewPool(mp.Processes(*workers))
	check(err)
	defer procs.Close()
	sqf := mp.Fn(sqCtx)
	fmt.Println("| case | median ns/item | best ns/item |\n|---|---|---|")
	time1("goroutines: Map, default chunks", n, func() { _, err := mp.Map(ctx, threads, sqf, in); check(err) })
	time1("goroutines: Map, chunksize=1", n, func() { _, err := mp.Map(ctx, threads, sqf, in, mp.Chunksize(1)); check(err) })
	time1("goroutines: Submit+Get", n/10, func() {
		fs := make([]*mp.Future[int], n/10)
		for i := range fs {
			fs[i] = mp.Submit(ctx, threads, sqf, i)
		}
		for _, f := range fs {
			_, err := f.Get(ctx)
			check(err)
		}
	})
	time1("processes: Map, chunksize=1000", n, func() { _, err := mp.Map(ctx, procs, sqProc, in, mp.Chunksize(1000)); check(err) })
	time1("processes: Map, chunksize=1", n, func() { _, err := mp.Map(ctx, procs, sqProc, in, mp.Chunksize(1)); check(err) })
}
