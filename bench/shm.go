package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mp-go/mp"
)

// The shared-memory case: summing a RawArray of float64 from two worker
// processes against summing a plain slice on two goroutines.

type shmSpan struct {
	A      *mp.RawArray[float64]
	Lo, Hi int
}

var shmSum = mp.Register("bench.shmSum", func(_ context.Context, sp shmSpan) (float64, error) {
	return sum(sp.A.Slice()[sp.Lo:sp.Hi]), nil
})

func sum(s []float64) float64 {
	var a, b, c, d float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a += s[i]
		b += s[i+1]
		c += s[i+2]
		d += s[i+3]
	}
	for ; i < len(s); i++ {
		a += s[i]
	}
	return a + b + c + d
}

var queueProducer = mp.Register("bench.queueProducer", func(ctx context.Context, a queueArgs) (struct{}, error) {
	for i := range a.N {
		if err := a.Q.Put(ctx, i); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
})

type queueArgs struct {
	Q *mp.Queue[int]
	N int
}

// runQueue measures a producer process putting n ints into an mp.Queue
// that the parent drains, against Python's multiprocessing.Queue.
func runQueue() {
	n, reps := 200_000, min(*runs, 3)
	if *smoke {
		n, reps = 2_000, 1
	}
	ctx := context.Background()
	var ts []float64
	for range reps {
		q, err := mp.NewQueue[int](0)
		check(err)
		p, err := mp.NewProcess(queueProducer, queueArgs{q, n})
		check(err)
		t0 := time.Now()
		check(p.Start(ctx))
		total := 0
		for range n {
			v, err := q.Get(ctx)
			check(err)
			total += v
		}
		check(p.Join(ctx))
		ts = append(ts, float64(time.Since(t0).Nanoseconds())/float64(n))
		q.Unlink()
		if total != n*(n-1)/2 {
			fail(fmt.Errorf("queue: sum %d", total))
		}
	}
	mpNs := median(ts)
	fmt.Printf("\nQueue: a producer process puts %d small ints, the parent gets them (median of %d, process start included):\n\n", n, reps)
	fmt.Println("| case | ns/message | mp faster by |")
	fmt.Println("|---|---:|---:|")
	fmt.Printf("| mp.Queue[int] | %.0f | |\n", mpNs)
	if *python {
		py := map[string]float64{}
		if err := runPythonJSON("mpqueue.py", &py, n, reps); err != nil {
			fmt.Fprintln(os.Stderr, "bench: Python queue skipped:", err)
			return
		}
		for k, v := range py {
			fmt.Printf("| %s | %.0f | %.1f× (target ≥ 20×: %s) |\n", k, v, v/mpNs, yes(v/mpNs >= 20))
		}
	}
}

// runShm measures both and prints the result.
func runShm() {
	n, reps := 100_000_000, min(*runs, 5)
	if *smoke {
		n, reps = 1_000_000, 1
	}
	arr, err := mp.NewRawArray[float64](n)
	check(err)
	defer arr.Unlink()
	defer arr.Close()
	shared := arr.Slice()
	plain := make([]float64, n)
	for i := range plain {
		plain[i] = float64(i % 1000)
		shared[i] = plain[i]
	}
	half := n / 2
	var tPlain, tShared []float64
	pool, err := mp.NewPool(mp.Processes(2))
	check(err)
	defer pool.Close()
	ctx := context.Background()
	spans := []shmSpan{{arr, 0, half}, {arr, half, n}}
	// a first call maps the array in each worker
	_, err = mp.Map(ctx, pool, shmSum, spans, mp.Chunksize(1))
	check(err)
	var want float64
	for range reps {
		t0 := time.Now()
		var wg sync.WaitGroup
		var s1, s2 float64
		wg.Go(func() { s1 = sum(plain[:half]) })
		wg.Go(func() { s2 = sum(plain[half:]) })
		wg.Wait()
		tPlain = append(tPlain, float64(time.Since(t0)))
		want = s1 + s2
		t0 = time.Now()
		sums, err := mp.Map(ctx, pool, shmSum, spans, mp.Chunksize(1))
		check(err)
		tShared = append(tShared, float64(time.Since(t0)))
		if sums[0]+sums[1] != want {
			fail(fmt.Errorf("shared sum %v, plain %v", sums[0]+sums[1], want))
		}
	}
	p, s := median(tPlain), median(tShared)
	fmt.Printf("\nShared memory: sum of %d float64, median of %d:\n\n", n, reps)
	fmt.Println("| case | ms |")
	fmt.Println("|---|---:|")
	fmt.Printf("| plain slice, 2 goroutines | %.1f |\n", p/1e6)
	fmt.Printf("| mp.RawArray, 2 worker processes (mp.Map of 2 spans) | %.1f |\n", s/1e6)
	fmt.Printf("\nshared / plain speed: %.2f× (target ≥ 0.8×): %s\n", p/s, yes(p/s >= 0.8))
	runQueue()
}
