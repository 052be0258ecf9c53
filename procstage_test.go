//go:build linux

package mp_test

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/mp-go/mp"
)

// tallyArg is an item of tally: the segment that counts executions, and
// the item's number.
type tallyArg struct {
	Seg string
	X   int
}

// tallies holds the segments tally has attached in this process.
var tallies sync.Map // name -> []int64

// tally counts its execution in the segment (word X: runs; word n+X: the
// pid that ran it, for the killer) and returns 2*X at once: items this
// short put most kills between items and in the middle of sending a
// batch, where the raw stage commits results (wk.Stage).
var tally = mp.Register("test.tally", func(_ context.Context, a tallyArg) (int, error) {
	words, ok := tallies.Load(a.Seg)
	if !ok {
		m, err := mp.AttachSharedMemory(a.Seg)
		if err != nil {
			return 0, err
		}
		b := m.Buf()
		words, _ = tallies.LoadOrStore(a.Seg, unsafe.Slice((*int64)(unsafe.Pointer(&b[0])), len(b)/8))
	}
	w := words.([]int64)
	atomic.AddInt64(&w[a.X], 1)
	atomic.StoreInt64(&w[len(w)/2+a.X], int64(os.Getpid()))
	return 2 * a.X, nil
})

// Issue 15: the raw stage (results that are numbers) keeps the promise of
// TestKilledWorkersRunEachItemOnce with items of a few hundred
// nanoseconds, where a kill lands between items or while a batch goes out
// as often as inside one: every item ends in one result or one
// *WorkerError, none runs twice with Retries(0), and a result is right.
func TestKilledWorkersKeepRawResults(t *testing.T) {
	ctx := context.Background()
	const n = 4000
	p := newProcPool(t)
	kills, failed := 0, 0
	for trial := range 3 * ringTrials() {
		m, err := mp.CreateSharedMemory("", 2*n*8)
		if err != nil {
			t.Fatal(err)
		}
		b := m.Buf()
		w := unsafe.Slice((*int64)(unsafe.Pointer(&b[0])), 2*n)
		items := make([]tallyArg, n)
		for i := range items {
			items[i] = tallyArg{m.Name(), i}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		killed := 0
		wg.Go(func() {
			dead := map[int64]bool{}
			for killed < 1+trial%3 {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(rand.IntN(3000)) * time.Microsecond):
				}
				pid := atomic.LoadInt64(&w[n+rand.IntN(n)])
				if pid > 0 && !dead[pid] && syscall.Kill(int(pid), syscall.SIGKILL) == nil {
					dead[pid] = true
					killed++
				}
			}
		})
		var out []int
		within(t, "Map", func() { out, err = mp.Map(ctx, p, tally, items, mp.Partial(), mp.Chunksize(50+rand.IntN(1000))) })
		close(stop)
		wg.Wait()
		kills += killed
		errs := itemErrors(t, err, n)
		for i := range n {
			runs := atomic.LoadInt64(&w[i])
			switch {
			case runs > 1:
				t.Errorf("trial %d: item %d ran %d times with Retries(0)", trial, i, runs)
			case errs[i] != nil:
				failed++
			case out[i] != 2*i || runs != 1:
				t.Errorf("trial %d: item %d: result %d after %d runs, want %d after 1", trial, i, out[i], runs, 2*i)
			}
		}
		m.Close()
		m.Unlink()
		if v, err := mp.Apply(ctx, p, square, 3); v != 9 || err != nil {
			t.Fatalf("trial %d: the pool after the kills: %v, %v", trial, v, err)
		}
	}
	if failed > kills {
		t.Errorf("%d items failed for %d workers killed: only the item a worker was running may fail", failed, kills)
	}
	t.Logf("%d trials: %d workers killed, %d items failed", 3*ringTrials(), kills, failed)
}
