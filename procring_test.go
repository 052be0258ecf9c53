//go:build linux

package mp_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// countArgs is an item of countRun: the file that counts executions.
type countArgs struct {
	File string
	X    int
}

// countRun appends "X pid" to a.File as it begins (one write, O_APPEND:
// the file counts executions across processes), takes a moment, and
// returns 2*X.
var countRun = mp.Register("test.countRun", func(_ context.Context, a countArgs) (int, error) {
	f, err := os.OpenFile(a.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(f, "%d %d\n", a.X, os.Getpid())
	f.Close()
	time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
	return 2 * a.X, nil
})

// Issue 15: with the pool's data path in shared memory, a worker SIGKILLed
// at any point loses no finished result and, with Retries(0), makes no
// item run twice: each item ends in exactly one result or one
// *WorkerError, and ran at most once (counted in a file). Before, a
// killed worker's item ran again, and so could items it had finished.
func TestKilledWorkersRunEachItemOnce(t *testing.T) {
	ctx := context.Background()
	const n = 40
	calls := []struct {
		name string
		run  func(p *mp.Pool, items []countArgs) ([]int, []error)
	}{
		{"Map", func(p *mp.Pool, items []countArgs) ([]int, []error) {
			out, err := mp.Map(ctx, p, countRun, items, mp.Partial(), mp.Chunksize(1+rand.IntN(8)))
			errs := make([]error, len(items))
			for _, e := range unjoin(err) {
				var te *mp.TaskError
				if !errors.As(e, &te) {
					t.Fatalf("Map: %v is not a *TaskError", e)
				}
				errs[te.Index] = e
			}
			return out, errs
		}},
		{"Imap", func(p *mp.Pool, items []countArgs) ([]int, []error) {
			var out []int
			var errs []error
			for v, err := range mp.Imap(ctx, p, countRun, sliceSeq(items), mp.Partial(), mp.Chunksize(1+rand.IntN(8))) {
				out, errs = append(out, v), append(errs, err)
			}
			return out, errs
		}},
		{"Submit", func(p *mp.Pool, items []countArgs) ([]int, []error) {
			fs := make([]*mp.Future[int], len(items))
			for i, a := range items {
				fs[i] = mp.Submit(ctx, p, countRun, a)
			}
			out, errs := make([]int, len(items)), make([]error, len(items))
			for i, f := range fs {
				wctx, cancel := context.WithTimeout(ctx, long)
				out[i], errs[i] = f.Get(wctx)
				cancel()
			}
			return out, errs
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			p := newProcPool(t)
			kills, failed := 0, 0
			for trial := range ringTrials() {
				file := filepath.Join(t.TempDir(), "runs")
				items := make([]countArgs, n)
				for i := range items {
					items[i] = countArgs{file, i}
				}
				stop := make(chan struct{})
				var wg sync.WaitGroup
				killed := 0
				wg.Go(func() { killed = killWorkersOf(file, 1+rand.IntN(3), stop) })
				var out []int
				var errs []error
				within(t, c.name, func() { out, errs = c.run(p, items) })
				close(stop)
				wg.Wait()
				kills += killed
				runs := countRuns(t, file)
				if len(out) != n || len(errs) != n {
					t.Fatalf("trial %d: %d results and %d errors for %d items", trial, len(out), len(errs), n)
				}
				for i := range n {
					if runs[i] > 1 {
						t.Errorf("trial %d: item %d ran %d times with Retries(0)", trial, i, runs[i])
					}
					if errs[i] == nil {
						if out[i] != 2*i || runs[i] != 1 {
							t.Errorf("trial %d: item %d: result %d after %d runs, want %d after 1", trial, i, out[i], runs[i], 2*i)
						}
						continue
					}
					failed++
					var we *mp.WorkerError
					if !errors.As(errs[i], &we) {
						t.Errorf("trial %d: item %d failed with %v, want a *WorkerError", trial, i, errs[i])
					}
				}
				if v, err := mp.Apply(ctx, p, square, 3); v != 9 || err != nil {
					t.Fatalf("trial %d: the pool after the kills: %v, %v", trial, v, err)
				}
			}
			if failed > kills {
				t.Errorf("%d items failed for %d workers killed: only the item a worker was running may fail", failed, kills)
			}
			t.Logf("%d trials: %d workers killed, %d items failed", ringTrials(), kills, failed)
		})
	}
}

// killWorkersOf SIGKILLs up to k of the workers that have begun items
// counted in file, at random moments, until stop is closed; it returns how
// many it killed.
func killWorkersOf(file string, k int, stop <-chan struct{}) int {
	killed := 0
	dead := map[int]bool{}
	for killed < k {
		select {
		case <-stop:
			return killed
		case <-time.After(time.Duration(rand.IntN(4000)) * time.Microsecond):
		}
		b, _ := os.ReadFile(file)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) == 0 || lines[0] == "" {
			continue
		}
		f := strings.Fields(lines[rand.IntN(len(lines))])
		if len(f) != 2 {
			continue
		}
		pid, _ := strconv.Atoi(f[1])
		if pid <= 0 || dead[pid] {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			dead[pid] = true
			killed++
		}
	}
	return killed
}

// countRuns reads the executions counted in file, by item.
func countRuns(t *testing.T, file string) map[int]int {
	t.Helper()
	b, _ := os.ReadFile(file)
	runs := map[int]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			x, err := strconv.Atoi(f[0])
			if err != nil {
				t.Fatalf("a torn line in the count: %q", line)
			}
			runs[x]++
		}
	}
	return runs
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var all []error
		for _, e := range j.Unwrap() {
			all = append(all, unjoin(e)...)
		}
		return all
	}
	return []error{err}
}

func sliceSeq[T any](s []T) func(func(T) bool) {
	return func(yield func(T) bool) {
		for _, v := range s {
			if !yield(v) {
				return
			}
		}
	}
}

// slowSquare is square that takes a few microseconds, so that kills land
// while Tasks of numbers are queued, running and being answered.
var slowSquare = mp.Register("test.slowSquare", mp.Plain(func(x int) int {
	for end := time.Now().Add(5 * time.Microsecond); time.Now().Before(end); {
	}
	return x * x
}))

// slowStep is step (procargs_test.go) on a plain struct that takes a few
// microseconds: its arguments and results cross as their memory, and the
// worker stages each result as an entry.
var slowStep = mp.Register("test.slowStep", mp.Plain(func(p particle) particle {
	for end := time.Now().Add(5 * time.Microsecond); time.Now().Before(end); {
	}
	return stepped(p)
}))

// Workers SIGKILLed at random while a Map runs, of numbers (their Tasks
// written from the caller's slice, resent from it to the replacements,
// the results in the raw stage) and of plain structs (their memory, the
// results in the entry stage): every item ends in its own result or a
// *WorkerError, no more items fail than workers were killed, and the
// input is untouched.
func TestKilledWorkersWithPlainData(t *testing.T) {
	const n = 4000
	ints := make([]int, n)
	ps := make([]particle, n)
	for i := range n {
		ints[i] = i - n/2
		ps[i] = particle{Pos: [3]float32{float32(i), 1, 2}, Vel: [3]float32{3, 4, float32(-i)}, ID: uint32(i), Charge: int8(i % 100)}
	}
	t.Run("numbers", func(t *testing.T) { killWhileMapping(t, slowSquare, ints, func(x int) int { return x * x }) })
	t.Run("plain structs", func(t *testing.T) { killWhileMapping(t, slowStep, ps, stepped) })
}

// killWhileMapping maps f over in (copied into each trial's argument,
// compared with the original after) while workers are killed at random.
func killWhileMapping[A, R comparable](t *testing.T, f mp.Func[A, R], orig []A, want func(A) R) {
	ctx := context.Background()
	p := newProcPool(t)
	n := len(orig)
	in := slices.Clone(orig)
	kills, failed := 0, 0
	for trial := range ringTrials() {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		killed := 0
		wg.Go(func() {
			for k := 1 + rand.IntN(3); killed < k; {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(rand.IntN(3000)) * time.Microsecond):
				}
				ws := p.Stats().PerWorker
				if pid := ws[rand.IntN(len(ws))].PID; pid > 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
					killed++
				}
			}
		})
		var out []R
		var err error
		within(t, "Map", func() { out, err = mp.Map(ctx, p, f, in, mp.Partial(), mp.Chunksize(1+rand.IntN(64))) })
		close(stop)
		wg.Wait()
		kills += killed
		errs := itemErrors(t, err, n)
		for i := range in {
			if in[i] != orig[i] {
				t.Fatalf("trial %d: input %d is now %v, was %v", trial, i, in[i], orig[i])
			}
			if errs[i] != nil {
				failed++
				continue
			}
			if w := want(orig[i]); out[i] != w {
				t.Errorf("trial %d: item %d gave %v, want %v", trial, i, out[i], w)
			}
		}
	}
	if failed > kills {
		t.Errorf("%d items failed for %d workers killed: only the item a worker was running may fail", failed, kills)
	}
	t.Logf("%d trials: %d workers killed, %d items failed", ringTrials(), kills, failed)
}

// itemErrors spreads the errors joined in a Partial call's err over its n
// items: each must be a *TaskError of a *WorkerError (a worker killed).
func itemErrors(t *testing.T, err error, n int) []error {
	t.Helper()
	errs := make([]error, n)
	for _, e := range unjoin(err) {
		var te *mp.TaskError
		var we *mp.WorkerError
		if !errors.As(e, &te) || !errors.As(e, &we) {
			t.Fatalf("%v is not a *TaskError of a *WorkerError", e)
		}
		errs[te.Index] = e
	}
	return errs
}
