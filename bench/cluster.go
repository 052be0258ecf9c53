package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mp-go/mp"
	_ "github.com/mp-go/mp/cluster"
)

var clusterSq = mp.Register("bench.cluster-sq", func(_ context.Context, x int) (int, error) { return sq(x), nil })

// runCluster measures a Cluster pool (embedded NATS server, two local
// worker processes) against a local process pool of two, in one run.
func runCluster() {
	nTasks, nSingle, nTrips, reps := 100_000, 20_000, 1000, min(*runs, 5)
	if *smoke {
		nTasks, nSingle, nTrips, reps = 1000, 100, 20, 1
	}
	ctx := context.Background()
	in := make([]int, nTasks)
	for i := range in {
		in[i] = i
	}
	measure := func(pool *mp.Pool) (perSec, perSec1, p50us float64) {
		var rates, rates1, trips []float64
		for range reps {
			t0 := time.Now()
			res, err := mp.Map(ctx, pool, clusterSq, in)
			check(err)
			if res[nTasks-1] != sq(nTasks-1) {
				fail(fmt.Errorf("cluster: wrong result"))
			}
			rates = append(rates, float64(nTasks)/time.Since(t0).Seconds())
			t0 = time.Now()
			_, err = mp.Map(ctx, pool, clusterSq, in[:nSingle], mp.Chunksize(1))
			check(err)
			rates1 = append(rates1, float64(nSingle)/time.Since(t0).Seconds())
		}
		for i := range nTrips {
			t0 := time.Now()
			v, err := mp.Apply(ctx, pool, clusterSq, i)
			check(err)
			if v != sq(i) {
				fail(fmt.Errorf("cluster: wrong result"))
			}
			trips = append(trips, float64(time.Since(t0).Microseconds()))
		}
		slices.Sort(trips)
		return median(rates), median(rates1), trips[len(trips)/2]
	}
	cl, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(*workers))
	check(err)
	clRate, clRate1, clTrip := measure(cl)
	cl.Close()
	pp, err := mp.NewPool(mp.Processes(*workers))
	check(err)
	ppRate, ppRate1, ppTrip := measure(pp)
	pp.Close()
	fmt.Printf("\nCluster pool: embedded NATS server, %d local worker processes; Map of %d trivial tasks (default chunks) and of %d one task per message (median of %d); %d sequential Apply round trips:\n\n", *workers, nTasks, nSingle, reps, nTrips)
	fmt.Println("| pool | tasks/s, Map | tasks/s, Map Chunksize(1) | Apply round trip p50 µs |")
	fmt.Println("|---|---:|---:|---:|")
	fmt.Printf("| mp.Cluster(\"\") | %.0f | %.0f | %.0f |\n", clRate, clRate1, clTrip)
	fmt.Printf("| mp.Processes(%d), for scale | %.0f | %.0f | %.0f |\n", *workers, ppRate, ppRate1, ppTrip)
	fmt.Printf("\ncluster ≥ 40,000 tasks/s: %.0f chunked (%s), %.0f one per message (%s); round trip p50 ≤ 300 µs: %.0f µs (%s)\n", clRate, yes(clRate >= 40000), clRate1, yes(clRate1 >= 40000), clTrip, yes(clTrip <= 300))
}
