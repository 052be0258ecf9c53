// Command barrier has three processes do their first step, wait for each
// other at a Barrier, then go on together (Python's multiprocessing.Barrier).
// The barrier's action, a registered function, runs once, in the last
// process to arrive, before any goes on.
//
//	go run ./examples/barrier
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/mp-go/mp"
)

type party struct {
	B    *mp.Barrier
	Step time.Duration // how long this party's first step takes
}

var (
	allArrived = mp.Register("barrier.allArrived", func(context.Context, struct{}) (struct{}, error) {
		fmt.Println("-- all three arrived: go --")
		return struct{}{}, nil
	})
	work = mp.Register("barrier.work", func(ctx context.Context, p party) (struct{}, error) {
		me := mp.CurrentProcess().Name()
		time.Sleep(p.Step)
		fmt.Printf("%s: first step done, waiting\n", me)
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // Python's timeout: breaks the barrier
		defer cancel()
		if _, err := p.B.Wait(ctx); err != nil {
			return struct{}{}, err
		}
		fmt.Printf("%s: second step\n", me)
		return struct{}{}, nil
	})
)

func main() {
	mp.Main()
	ctx := context.Background()
	b, err := mp.NewBarrier(3, allArrived)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Unlink()
	var ps []*mp.Process
	for i := range 3 {
		p, err := mp.NewProcess(work, party{b, time.Duration(i+1) * 100 * time.Millisecond}, mp.ProcessName(fmt.Sprintf("party-%d", i+1)))
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
	fmt.Println("Done.")
}
