package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/mp-go/mp"
	_ "github.com/mp-go/mp/cluster"
)

var clusterSq = mp.Register("bench.cluster-sq", func(_ context.Context, x int) (int, error) { return sq(x), nil })

// runCluster measures a Cluster pool (embedded NATS server, two local
// worker processes) against a hand-written JetStream work queue on the
// same server (jsbase.go) and a local process pool of two, in one run:
// the pool and the baseline alternate rep by rep.
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
	type result struct{ rates, rates1, cpu1, trips []float64 }
	// one rep of a pool: Map chunked, Map one task per message, Apply
	// round trips
	measure := func(pool *mp.Pool, r *result) {
		t0 := time.Now()
		res, err := mp.Map(ctx, pool, clusterSq, in)
		check(err)
		if res[nTasks-1] != sq(nTasks-1) {
			fail(fmt.Errorf("cluster: wrong result"))
		}
		r.rates = append(r.rates, float64(nTasks)/time.Since(t0).Seconds())
		rate, cpu := rate1(func() {
			_, err := mp.Map(ctx, pool, clusterSq, in[:nSingle], mp.Chunksize(1))
			check(err)
		}, nSingle)
		r.rates1, r.cpu1 = append(r.rates1, rate), append(r.cpu1, cpu)
		for i := range nTrips / reps {
			t0 := time.Now()
			v, err := mp.Apply(ctx, pool, clusterSq, i)
			check(err)
			if v != sq(i) {
				fail(fmt.Errorf("cluster: wrong result"))
			}
			r.trips = append(r.trips, float64(time.Since(t0).Microseconds()))
		}
	}
	cl, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(*workers))
	check(err)
	base := startJSBaseline(*workers)
	var clRes, ppRes, jsRes result
	for range reps {
		measure(cl, &clRes)
		rate, cpu := rate1(func() { base.run(in[:nSingle]) }, nSingle)
		jsRes.rates1, jsRes.cpu1 = append(jsRes.rates1, rate), append(jsRes.cpu1, cpu)
		for i := range nTrips / reps {
			t0 := time.Now()
			base.apply(i)
			jsRes.trips = append(jsRes.trips, float64(time.Since(t0).Microseconds()))
		}
	}
	base.close()
	cl.Close()
	pp, err := mp.NewPool(mp.Processes(*workers))
	check(err)
	for range reps {
		measure(pp, &ppRes)
	}
	pp.Close()
	p50 := func(xs []float64) float64 { s := slices.Clone(xs); slices.Sort(s); return s[len(s)/2] }
	clRate, clRate1, clTrip := median(clRes.rates), median(clRes.rates1), p50(clRes.trips)
	jsRate1, jsTrip := median(jsRes.rates1), p50(jsRes.trips)
	fmt.Printf("\nCluster pool: embedded NATS server, %d local worker processes; Map of %d trivial tasks (default chunks) and of %d one task per message (median of %d, alternated with the baseline); %d sequential Apply round trips (p50); load average %s:\n\n", *workers, nTasks, nSingle, reps, nTrips, loadAvg())
	fmt.Println("| pool | tasks/s, Map | tasks/s, Map Chunksize(1) | CPU µs/task of the caller's process, Chunksize(1) | Apply round trip p50 µs |")
	fmt.Println("|---|---:|---:|---:|---:|")
	fmt.Printf("| mp.Cluster(\"\") (server in this process) | %.0f | %.0f | %.1f | %.0f |\n", clRate, clRate1, median(clRes.cpu1), clTrip)
	fmt.Printf("| hand-written JetStream work queue (nats.go, %d worker processes; server in this process) | | %.0f | %.1f | %.0f |\n", *workers, jsRate1, median(jsRes.cpu1), jsTrip)
	fmt.Printf("| mp.Processes(%d), for scale | %.0f | %.0f | %.1f | %.0f |\n", *workers, median(ppRes.rates), median(ppRes.rates1), median(ppRes.cpu1), p50(ppRes.trips))
	fmt.Printf("\ncluster ≥ 40,000 tasks/s: %.0f chunked (%s), %.0f one per message (%s); round trip p50 ≤ 300 µs: %.0f µs (%s)\n", clRate, yes(clRate >= 40000), clRate1, yes(clRate1 >= 40000), clTrip, yes(clTrip <= 300))
	fmt.Printf("cluster / hand-written JetStream: throughput one per message %.2f× (target ≥ 0.9×: %s), round trip p50 %.2f× (target ≤ 1.2×: %s)\n",
		clRate1/jsRate1, yes(clRate1 >= 0.9*jsRate1), clTrip/jsTrip, yes(clTrip <= 1.2*jsTrip))
}

// rate1 returns the tasks per second of run, which runs n tasks, and the
// CPU time this process spent per task, in µs.
func rate1(run func(), n int) (perSec, cpuUS float64) {
	c0, t0 := cpuTime(), time.Now()
	run()
	return float64(n) / time.Since(t0).Seconds(), float64((cpuTime() - c0).Microseconds()) / float64(n)
}

// profileCluster runs only the cluster pool's one-task-per-message cases
// (Map Chunksize(1), Apply) for about d, under a CPU profile written to
// file: the pool's process, with its embedded server.
func profileCluster(file string, d time.Duration) {
	ctx := context.Background()
	in := make([]int, 5000)
	for i := range in {
		in[i] = i
	}
	cl, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(*workers))
	check(err)
	defer cl.Close()
	f, err := os.Create(file)
	check(err)
	defer f.Close()
	check(pprof.StartCPUProfile(f))
	defer pprof.StopCPUProfile()
	for end := time.Now().Add(d); time.Now().Before(end); {
		_, err := mp.Map(ctx, cl, clusterSq, in, mp.Chunksize(1))
		check(err)
		for i := range 200 {
			_, err := mp.Apply(ctx, cl, clusterSq, i)
			check(err)
		}
	}
}

// profileBaseline is profileCluster for the hand-written baseline: its
// producer's process, with the server.
func profileBaseline(file string, d time.Duration) {
	in := make([]int, 5000)
	for i := range in {
		in[i] = i
	}
	base := startJSBaseline(*workers)
	defer base.close()
	f, err := os.Create(file)
	check(err)
	defer f.Close()
	check(pprof.StartCPUProfile(f))
	defer pprof.StopCPUProfile()
	for end := time.Now().Add(d); time.Now().Before(end); {
		base.run(in)
		for i := range 200 {
			base.apply(i)
		}
	}
}
