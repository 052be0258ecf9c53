// Command shared-counter has several processes increment a shared Value
// and a shared Array under their lock (Python's multiprocessing.Value and
// Array with get_lock()), and a counter with a lock-free atomic add, which
// Python does not have.
//
//	go run ./examples/shared-counter
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/mp-go/mp"
)

type shared struct {
	Total *mp.Value[float64]
	Hist  *mp.Array[int64]
	Hits  *mp.Value[int64]
}

type job struct {
	S      shared
	Worker int
	N      int
}

var count = mp.Register("shared-counter.count", func(ctx context.Context, j job) (struct{}, error) {
	for i := range j.N {
		// with v.get_lock(): v.value += ...
		if err := j.S.Total.Update(ctx, func(t *float64) { *t += 0.5 }); err != nil {
			return struct{}{}, err
		}
		if err := j.S.Hist.Update(ctx, func(h []int64) { h[(j.Worker+i)%len(h)]++ }); err != nil {
			return struct{}{}, err
		}
		mp.Add(j.S.Hits, 1) // no lock: one atomic instruction
	}
	return struct{}{}, nil
})

func main() {
	mp.Main()
	ctx := context.Background()
	total, err := mp.NewValue(0.0)
	if err != nil {
		log.Fatal(err)
	}
	defer total.Unlink()
	hist, err := mp.NewArray[int64](4)
	if err != nil {
		log.Fatal(err)
	}
	defer hist.Unlink()
	hits, err := mp.NewValue[int64](0)
	if err != nil {
		log.Fatal(err)
	}
	defer hits.Unlink()

	// four processes, 10,000 increments each, racing on the same memory
	var ps []*mp.Process
	for w := range 4 {
		p, err := mp.NewProcess(count, job{shared{total, hist, hits}, w, 10_000})
		if err != nil {
			log.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			log.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if err := p.Join(ctx); err != nil {
			log.Fatal(err)
		}
	}
	t, _ := total.Get(ctx)
	h := hist.Slice()
	fmt.Printf("total %.1f (want 20000.0), histogram %v (want 10000 each), hits %d (want 40000)\n", t, h, *hits.Ptr())
}
