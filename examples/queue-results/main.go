// Command queue-results has children put their results in a Queue, and
// the parent get them both ways: while the children run, and after
// joining them first — Python's best-known queue trap (a child whose
// queue feeder still holds items never exits, so joining it before
// draining hangs). Here Put leaves the item in shared memory and returns:
// the child exits, and every item is there.
//
//	go run ./examples/queue-results
package main

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/mp-go/mp"
)

type result struct {
	Worker int
	N      int
	Square int
}

type job struct {
	Q      *mp.Queue[result]
	Worker int
	From   int
	To     int
}

var square = mp.Register("queue-results.square", func(ctx context.Context, j job) (struct{}, error) {
	for n := j.From; n < j.To; n++ {
		if err := j.Q.Put(ctx, result{j.Worker, n, n * n}); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
})

// run starts three children putting 10,000 results each.
func run(ctx context.Context, q *mp.Queue[result]) []*mp.Process {
	var ps []*mp.Process
	for w := range 3 {
		p, err := mp.NewProcess(square, job{q, w, w * 10_000, (w + 1) * 10_000})
		if err != nil {
			log.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			log.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

func check(name string, got []result) {
	slices.SortFunc(got, func(a, b result) int { return a.N - b.N })
	for i, r := range got {
		if r.N != i || r.Square != i*i {
			log.Fatalf("%s: result %d is %+v", name, i, r)
		}
	}
	fmt.Printf("%s: %d results, none lost\n", name, len(got))
}

func main() {
	mp.Main()
	ctx := context.Background()
	q, err := mp.NewQueue[result](0)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Unlink()

	// Get before joining: the usual order.
	ps := run(ctx, q)
	var got []result
	for range 30_000 {
		r, err := q.Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		got = append(got, r)
	}
	for _, p := range ps {
		if err := p.Join(ctx); err != nil {
			log.Fatal(err)
		}
	}
	check("get, then join", got)

	// Join first: in Python this hangs; here the children have ended and
	// their results wait in the queue.
	ps = run(ctx, q)
	for _, p := range ps {
		if err := p.Join(ctx); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("joined all three children; in the queue:", q.Qsize())
	got = got[:0]
	for !q.Empty() {
		r, err := q.GetNowait()
		if err != nil {
			log.Fatal(err)
		}
		got = append(got, r)
	}
	check("join, then get", got)
}
