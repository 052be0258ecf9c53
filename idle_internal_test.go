package mp

import (
	"context"
	"errors"
	"testing"
	"time"
)

var (
	lendDouble = Register("test.lendDouble", Plain(func(x int) int { return 2 * x }))
	lendSleep  = Register("test.lendSleep", func(_ context.Context, ms int) (int, error) {
		time.Sleep(time.Duration(ms) * time.Millisecond) // ignores its context: only a kill stops it
		return ms, nil
	})
)

// Which Apply calls run on a worker lent to the caller (Pool.runHere):
// on a process pool, when a worker sleeps on the idlers' stack and no job
// is queued ahead; never on goroutines, and never where a worker's own
// goroutine must replace it or hold it back (MaxTasksPerChild,
// MaxMemoryPerChild, MemFree).
func TestRunHere(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		opts []PoolOption
		prep func(t *testing.T, p *Pool) (undo func())
		want bool
	}{
		{name: "idle process pool", opts: []PoolOption{Processes(2)}, want: true},
		{name: "goroutines", opts: []PoolOption{Threads(2)}},
		{name: "MaxTasksPerChild", opts: []PoolOption{Processes(2), MaxTasksPerChild(100)}},
		{name: "MaxMemoryPerChild", opts: []PoolOption{Processes(2), MaxMemoryPerChild(1 << 40)}},
		{name: "MemFree", opts: []PoolOption{Processes(2), MemFree(1)}},
		{name: "a job queued ahead", opts: []PoolOption{Processes(2)}, prep: func(t *testing.T, p *Pool) func() {
			ahead := newTask(ctx, p, lendDouble, 1, nil)
			p.mu.Lock()
			p.queue = append(p.queue, ahead) // as enqueue would, without waking anyone
			p.mu.Unlock()
			return func() {
				p.mu.Lock()
				p.queue = p.queue[:len(p.queue)-1]
				p.mu.Unlock()
			}
		}},
		{name: "no worker asleep", opts: []PoolOption{Processes(2)}, prep: func(t *testing.T, p *Pool) func() {
			p.mu.Lock()
			idlers := p.idlers
			p.idlers = nil // as if both had been woken for jobs
			p.mu.Unlock()
			return func() {
				p.mu.Lock()
				p.idlers = idlers
				p.mu.Unlock()
			}
		}},
		{name: "closed", opts: []PoolOption{Processes(2)}, prep: func(t *testing.T, p *Pool) func() {
			p.mu.Lock()
			p.closed = true // Close itself would wait for the workers to end
			p.mu.Unlock()
			return func() {
				p.mu.Lock()
				p.closed = false
				p.mu.Unlock()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPool(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			// both workers asleep on the stack, their processes started
			waitFor(t, "both workers asleep", func() bool {
				p.mu.Lock()
				defer p.mu.Unlock()
				return len(p.idlers) == 2
			})
			if tt.prep != nil {
				defer tt.prep(t, p)()
			}
			task := newTask(ctx, p, lendDouble, 21, nil)
			if got := p.runHere(task); got != tt.want {
				t.Fatalf("runHere = %v, want %v", got, tt.want)
			}
			if !tt.want {
				if task.Ready() {
					t.Fatal("a task that was not run here is resolved")
				}
				return
			}
			if !task.Ready() {
				t.Fatal("runHere returned with the task unresolved")
			}
			if v, err := task.Get(ctx); v != 42 || err != nil {
				t.Fatalf("result %v, %v; want 42", v, err)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			if len(p.idlers) != 2 || p.idle != 2 || p.busy != 0 || p.idlers[1].lent {
				t.Fatalf("after the loan: %d idlers, idle %d, busy %d, top lent %v; want 2, 2, 0, false", len(p.idlers), p.idle, p.busy, p.idlers[1].lent)
			}
		})
	}
}

// Apply on an idle process pool runs from the caller's goroutine on a
// worker the pool lends it (Pool.runHere), the worker's own goroutine
// asleep meanwhile. What happens around a loan must be what happens
// around a job the worker took itself.
func TestApplyOnALentWorker(t *testing.T) {
	ctx := context.Background()
	newPool1 := func(t *testing.T) *Pool {
		p, err := NewPool(Processes(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	// startLent starts an Apply of a task of ms milliseconds on p's one
	// worker, lent, and waits until it runs.
	startLent := func(t *testing.T, p *Pool, ctx context.Context, ms int) <-chan error {
		t.Helper()
		var w *worker
		waitFor(t, "the worker asleep", func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			if len(p.idlers) == 1 {
				w = p.idlers[0]
			}
			return w != nil
		})
		done := make(chan error, 1)
		go func() {
			v, err := Apply(ctx, p, lendSleep, ms)
			if err == nil && v != ms {
				err = errors.New("a wrong result")
			}
			done <- err
		}()
		waitFor(t, "the Apply running on the lent worker", func() bool {
			p.mu.Lock()
			lent := w.lent
			p.mu.Unlock()
			return lent && p.Stats().Busy == 1
		})
		return done
	}
	// await waits, up to a minute, for what ch gives.
	await := func(t *testing.T, what string, ch <-chan error) error {
		t.Helper()
		select {
		case err := <-ch:
			return err
		case <-time.After(time.Minute):
			t.Fatalf("waited a minute for %s", what)
			return nil
		}
	}
	// async runs fn and gives its error on the channel it returns.
	async := func(fn func() error) <-chan error {
		ch := make(chan error, 1)
		go func() { ch <- fn() }()
		return ch
	}

	t.Run("work queued meanwhile runs after it", func(t *testing.T) {
		p := newPool1(t)
		done := startLent(t, p, ctx, 300)
		// no worker is idle: this one waits in the queue, and the lent
		// worker must be woken for it once the loan ends
		f := Submit(ctx, p, lendDouble, 7)
		err := await(t, "a task queued while the only worker was lent", async(func() error {
			v, err := f.Get(ctx)
			if err == nil && v != 14 {
				err = errors.New("a wrong result")
			}
			return err
		}))
		if err != nil {
			t.Fatalf("queued task: %v", err)
		}
		if err := await(t, "the lent Apply", done); err != nil {
			t.Fatalf("the lent Apply: %v", err)
		}
		// a worker reports its job done after the result that woke us
		waitFor(t, "the workers idle", func() bool { return p.Stats().Busy == 0 })
		if st := p.Stats(); st.Done != 2 || st.Sent != 2 {
			t.Fatalf("Stats: Done %d, Sent %d; want 2, 2", st.Done, st.Sent)
		}
	})

	t.Run("Close waits for it", func(t *testing.T) {
		p := newPool1(t)
		done := startLent(t, p, ctx, 300)
		if err := await(t, "Close during a lent Apply", async(p.Close)); err != nil {
			t.Fatalf("Close: %v", err)
		}
		// Close let the task finish on its worker (a kill would fail it)
		if err := await(t, "the lent Apply", done); err != nil {
			t.Fatalf("the lent Apply, Close meanwhile: %v", err)
		}
	})

	t.Run("Terminate stops it", func(t *testing.T) {
		p := newPool1(t)
		done := startLent(t, p, ctx, 60_000)
		await(t, "Terminate during a lent Apply", async(func() error { p.Terminate(); return nil }))
		if err := await(t, "the lent Apply after Terminate", done); !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want one wrapping ErrClosed", err)
		}
	})

	t.Run("its context cancelled", func(t *testing.T) {
		p := newPool1(t)
		cctx, cancel := context.WithCancelCause(ctx)
		why := errors.New("the user gave up")
		done := startLent(t, p, cctx, 60_000)
		cancel(why)
		if err := await(t, "a cancelled lent Apply", done); err != why {
			t.Fatalf("err = %v, want the cause itself, as Get gives it", err)
		}
		if v, err := Apply(ctx, p, lendDouble, 5); v != 10 || err != nil {
			t.Fatalf("Apply after a cancelled one: %v, %v", v, err)
		}
	})

	t.Run("cancelled at any moment, then the next calls", func(t *testing.T) {
		// a lent run's task serves the next Apply: a cancelled one must
		// leave nothing in it (nor in the chain) that the next one sees
		p := newPool1(t)
		for i := range 20 {
			cctx, cancel := context.WithTimeout(ctx, time.Duration(i%5)*300*time.Microsecond)
			Apply(cctx, p, lendSleep, 1) // done or cancelled
			cancel()
			for j := range 3 {
				x := 100*i + j
				if v, err := Apply(ctx, p, lendDouble, x); v != 2*x || err != nil {
					t.Fatalf("Apply %d after cancelling one: %v, %v; want %d", x, v, err, 2*x)
				}
			}
		}
	})

	t.Run("from many goroutines", func(t *testing.T) {
		p, err := NewPool(Processes(2))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		errs := make(chan error, 8)
		for g := range 8 {
			go func() {
				for i := range 200 {
					x := 1000*g + i
					if v, err := Apply(ctx, p, lendDouble, x); err != nil || v != 2*x {
						errs <- errors.Join(err, errors.New("a wrong result"))
						return
					}
				}
				errs <- nil
			}()
		}
		for range 8 {
			if err := await(t, "8 goroutines' Applies", errs); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the workers idle", func() bool { st := p.Stats(); return st.Busy == 0 && st.Running == 0 })
		if st := p.Stats(); st.Done != 1600 || st.Queued != 0 {
			t.Fatalf("Stats: Done %d, Queued %d; want 1600, 0", st.Done, st.Queued)
		}
	})
}

// waitFor waits, up to a minute, until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
