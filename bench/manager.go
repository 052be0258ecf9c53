package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager"
)

type dictArgs struct {
	D    *manager.Dict[string, int]
	N    int
	Size int // 0: one key at a time
}

var (
	keys = func() []string {
		k := make([]string, 1000)
		for i := range k {
			k[i] = fmt.Sprint("k", i)
		}
		return k
	}()
	// benchSetGet sets and gets one key at a time: N operations.
	benchSetGet = mp.Register("bench.manager-setget", func(ctx context.Context, a dictArgs) (float64, error) {
		if _, err := a.D.Len(ctx); err != nil { // connects, as Python's len(d) does
			return 0, err
		}
		t0 := time.Now()
		for i := range a.N / 2 {
			k := keys[i%len(keys)]
			if err := a.D.Set(ctx, k, i); err != nil {
				return 0, err
			}
			if _, _, err := a.D.Get(ctx, k); err != nil {
				return 0, err
			}
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(a.N), nil
	})
	// benchBatch sets Size keys in one call and reads them back in one
	// call: N items in all.
	benchBatch = mp.Register("bench.manager-batch", func(ctx context.Context, a dictArgs) (float64, error) {
		items := make(map[string]int, a.Size)
		for i := range a.Size {
			items[keys[i%len(keys)]] = i
		}
		ks := keys[:a.Size]
		if _, err := a.D.Len(ctx); err != nil {
			return 0, err
		}
		t0 := time.Now()
		for range a.N / (2 * a.Size) {
			if err := a.D.SetMany(ctx, items); err != nil {
				return 0, err
			}
			if _, _, err := a.D.GetMany(ctx, ks); err != nil {
				return 0, err
			}
		}
		return float64(time.Since(t0).Nanoseconds()) / float64(a.N), nil
	})
)

// measureManager measures a managed dict used from a child process,
// against Python's Manager().dict().
func measureManager() []ipcFigure {
	nOps, nBatch, size, reps := 20_000, 200_000, 1000, min(*runs, 5)
	if *smoke {
		nOps, nBatch, size, reps = 200, 200, 10, 1
	}
	ctx := context.Background()
	var tSet, tBatch []float64
	for range reps {
		tSet = append(tSet, timeInChild(ctx, benchSetGet, nOps, 0))
		tBatch = append(tBatch, timeInChild(ctx, benchBatch, nBatch, size))
	}
	py := map[string]float64{}
	if *python {
		if err := runPythonJSON("manager.py", &py, nOps, nBatch, size, reps); err != nil {
			fmt.Fprintln(os.Stderr, "bench: Python manager skipped:", err)
		}
	}
	return []ipcFigure{
		{name: fmt.Sprintf("manager dict from a child: set+get, one key a call (ns/op, %d ops)", nOps), mp: median(tSet), py: py["dict set+get from a child"], target: 10},
		{name: fmt.Sprintf("manager dict from a child: batches of %d, SetMany+GetMany (Python: update+copy), ns/item", size), mp: median(tBatch), py: py["dict batch update+copy from a child"]},
	}
}

// timeInChild starts a manager and a child that runs f on a dict of it,
// and returns the child's own timing (process start excluded).
func timeInChild(ctx context.Context, f mp.Func[dictArgs, float64], n, size int) float64 {
	m, err := manager.Start(ctx)
	check(err)
	defer m.Shutdown(ctx)
	d, err := manager.NewDict[string, int](ctx, m)
	check(err)
	pool, err := mp.NewPool(mp.Processes(1))
	check(err)
	defer pool.Close()
	ns, err := mp.Apply(ctx, pool, f, dictArgs{d, n, size})
	check(err)
	return ns
}
