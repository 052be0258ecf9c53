package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mp-go/mp"
)

// The shared-memory case: summing an mp.Array of float64 from two worker
// processes against summing a plain slice on two goroutines.

type shmSpan struct {
	A      *mp.Array[float64]
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

// measureQueue measures a producer process putting n ints into an
// mp.Queue that the parent drains, against Python's multiprocessing.Queue.
func measureQueue() []ipcFigure {
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
	f := ipcFigure{name: fmt.Sprintf("mp.Queue[int]: a producer process puts %d ints, the parent gets them (ns/message, start included)", n), mp: median(ts), target: 20}
	if *python {
		py := map[string]float64{}
		if err := runPythonJSON("mpqueue.py", &py, n, reps); err != nil {
			fmt.Fprintln(os.Stderr, "bench: Python queue skipped:", err)
		}
		for _, v := range py {
			f.py = v
		}
	}
	return []ipcFigure{f}
}

type pingArgs struct {
	C *mp.Conn[int]
	N int
}

type bumpArgs struct {
	L *mp.Lock
	V *mp.RawValue[int64]
	N int
}

var (
	benchEcho = mp.Register("bench.echo", func(ctx context.Context, a pingArgs) (struct{}, error) {
		for range a.N {
			v, err := a.C.Recv(ctx)
			if err != nil {
				return struct{}{}, err
			}
			if err := a.C.Send(ctx, v); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	benchBump = mp.Register("bench.bump", func(ctx context.Context, a bumpArgs) (struct{}, error) {
		for range a.N {
			if err := a.L.Lock(ctx); err != nil {
				return struct{}{}, err
			}
			*a.V.Ptr() += 1
			a.L.Unlock()
		}
		return struct{}{}, nil
	})
)

// measurePipeLock measures a Pipe ping-pong and a contended Lock between
// two processes, against Python's and a raw pipe between two Go processes.
func measurePipeLock() []ipcFigure {
	nPP, nLock, reps := 10_000, 200_000, min(*runs, 3)
	if *smoke {
		nPP, nLock, reps = 100, 1000, 1
	}
	ctx := context.Background()
	var tPP, tRaw, tLock []float64
	for range reps {
		a, b, err := mp.Pipe[int](true)
		check(err)
		p, err := mp.NewProcess(benchEcho, pingArgs{b, nPP})
		check(err)
		check(p.Start(ctx))
		check(a.Send(ctx, 0))
		_, err = a.Recv(ctx) // the child is up
		check(err)
		t0 := time.Now()
		for i := 1; i < nPP; i++ {
			check(a.Send(ctx, i))
			v, err := a.Recv(ctx)
			check(err)
			if v != i {
				fail(fmt.Errorf("pipe: %d for %d", v, i))
			}
		}
		tPP = append(tPP, float64(time.Since(t0).Nanoseconds())/float64(nPP-1))
		check(p.Join(ctx))
		a.Unlink()

		t0 = time.Now()
		pipeRoundTrips(nPP)
		tRaw = append(tRaw, float64(time.Since(t0).Nanoseconds())/float64(nPP))

		l, err := mp.NewLock()
		check(err)
		v, err := mp.NewRawValue[int64](0)
		check(err)
		t0 = time.Now()
		var ps []*mp.Process
		for range 2 {
			p, err := mp.NewProcess(benchBump, bumpArgs{l, v, nLock})
			check(err)
			check(p.Start(ctx))
			ps = append(ps, p)
		}
		for _, p := range ps {
			check(p.Join(ctx))
		}
		tLock = append(tLock, float64(time.Since(t0).Nanoseconds())/float64(2*nLock))
		if *v.Ptr() != int64(2*nLock) {
			fail(fmt.Errorf("lock: counter %d", *v.Ptr()))
		}
		l.Unlink()
		v.Unlink()
	}
	pp, raw, lk := median(tPP), median(tRaw), median(tLock)
	py := map[string]float64{}
	if *python {
		if err := runPythonJSON("ipc.py", &py, nPP, nLock, reps); err != nil {
			fmt.Fprintln(os.Stderr, "bench: Python IPC skipped:", err)
		}
	}
	return []ipcFigure{
		{name: "Pipe ping-pong round trip (ns)", mp: pp, py: py["Pipe ping-pong (round trip)"], target: 4},
		{name: "mp.Pipe against a raw os.Pipe round trip between two Go processes (ns; the Python column is the raw pipe's; target mp ≤ 1.5× it)", mp: pp, py: raw, target: 1 / 1.5},
		{name: fmt.Sprintf("Lock+Unlock, 2 processes contending %d times each, start included (ns)", nLock), mp: lk, py: py["Lock, 2 processes contending (per lock+unlock)"]},
	}
}

// runShm measures both and prints the result.
func runShm() {
	n, reps := 100_000_000, min(*runs, 5)
	if *smoke {
		n, reps = 1_000_000, 1
	}
	arr, err := mp.NewArray[float64](n)
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
	fmt.Printf("| mp.Array, 2 worker processes (mp.Map of 2 spans) | %.1f |\n", s/1e6)
	fmt.Printf("\nshared / plain speed: %.2f× (target ≥ 0.8×): %s\n", p/s, yes(p/s >= 0.8))
	runIPCSuite(measureQueue, measurePipeLock, measureManager)
}
