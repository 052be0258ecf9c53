package mp

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/mp-go/mp/internal/shm"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// A worker process runs a Task of one number, Apply's, with one
// allocation (the run's state, which the batch's Results live in): the
// Task it decodes into, the closures it sends through, the pacer it does
// not need and the buffer of its arguments are its own or reused. A
// worker allocated 10 times a Task (5 of them in this runner, the others
// in its loop: the Task, its function's name, two closures and a
// variable they shared), ~20% of its time between two Tasks of an Apply
// loop (perf). In this process, on a link as a worker's, with the
// worker's Task runner.
func TestWorkerTaskAllocations(t *testing.T) {
	asWorker(t)

	args, _ := wire.AppendRaw(nil, []int{7})
	task := wire.Task{ID: 1, Func: lendDouble.name, Args: args, N: 1}
	var got wire.Results
	send := func(r *wire.Results) error { got = *r; return nil }
	run := func() {
		if _, err := wk.RunTaskTicks(context.Background(), &task, false, send, nil); err != nil {
			t.Fatal(err)
		}
	}
	run()
	var v []int
	if err := wire.UnmarshalSlice(got.Values, &v); err != nil || len(v) != 1 || v[0] != 14 || got.N != 1 {
		t.Fatalf("results %+v (%v, %v), want one: 14", got, v, err)
	}
	if n := testing.AllocsPerRun(200, run); n > 1 {
		t.Fatalf("a Task of one number allocated %v times, want 1", n)
	}
}

// BenchmarkWorkerChunk is a worker's side of a chunked Map: a Task of
// 1,000 numbers run on a link as a worker's, its results sent nowhere
// (ns/op is per Task: divide by 1,000 for an item's cost).
func BenchmarkWorkerChunk(b *testing.B) {
	asWorker(b)
	in := make([]int, 1000)
	for i := range in {
		in[i] = i
	}
	args, _ := wire.AppendRaw(nil, in)
	task := wire.Task{ID: 1, Func: lendDouble.name, Args: args, N: len(in)}
	send := func(r *wire.Results) error { return nil }
	for b.Loop() {
		if _, err := wk.RunTaskTicks(context.Background(), &task, false, send, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// asWorker gives this process a link to a pool, as a worker process has
// (the pool's view is the same memory), until tb ends.
func asWorker(tb testing.TB) {
	name := fmt.Sprintf("mp-test-link-%d", os.Getpid())
	seg, err := shm.CreateLazy(name, wk.LinkSize(), wk.LinkBacked())
	if err != nil {
		tb.Fatal(err)
	}
	shm.Unlink(name)
	tb.Cleanup(func() { seg.Close() })
	link, err := wk.NewLink(seg)
	if err != nil {
		tb.Fatal(err)
	}
	prev := wk.Running.Link.Swap(link)
	tb.Cleanup(func() { wk.Running.Link.Store(prev) })
}
