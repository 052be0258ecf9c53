package mp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/progress"
)

// long bounds every wait in these tests: generous for a busy 2-core
// machine, short enough that a hang fails instead of blocking CI.
const long = 20 * time.Second

var square = mp.Register("test.square", mp.Plain(func(x int) int { return x * x }))

func newPool(t *testing.T, opts ...mp.PoolOption) *mp.Pool {
	t.Helper()
	p, err := mp.NewPool(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Terminate() })
	return p
}

func ints(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// within fails the test if fn does not return within long.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	select {
	case <-done:
	case <-time.After(long):
		t.Fatalf("%s did not return within %v", what, long)
	}
}

func TestMapOrderAndChunks(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		workers int
		n       int
		opts    []mp.Option
	}{
		{"empty", 2, 0, nil},
		{"one", 2, 1, nil},
		{"odd auto chunks", 3, 1001, nil},
		{"chunksize 1", 2, 100, []mp.Option{mp.Chunksize(1)}},
		{"chunk bigger than input", 4, 10, []mp.Option{mp.Chunksize(1000)}},
		{"one worker", 1, 500, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, mp.Threads(tt.workers))
			if p.Workers() != tt.workers {
				t.Errorf("Workers() = %d, want %d", p.Workers(), tt.workers)
			}
			got, err := mp.Map(ctx, p, square, ints(tt.n), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.n {
				t.Fatalf("len = %d, want %d", len(got), tt.n)
			}
			for i, v := range got {
				if v != i*i {
					t.Fatalf("result %d = %d, want %d", i, v, i*i)
				}
			}
		})
	}
}

func TestMapRunsInParallel(t *testing.T) {
	p := newPool(t, mp.Threads(4))
	pt := newPeakTracker(t)
	f := mp.Fn(func(ctx context.Context, x int) (int, error) {
		pt.enter()
		defer pt.leave()
		return x, nil
	})
	if _, err := mp.Map(context.Background(), p, f, ints(16), mp.Chunksize(1)); err != nil {
		t.Fatal(err)
	}
	if n := pt.peak.Load(); n < 2 {
		t.Errorf("at most %d tasks ran at once on 4 workers", n)
	}
}

// peakTracker counts the tasks that run at once. A task calls enter, which
// returns once a second task runs at the same time (or after long, when
// none comes), and leave as it ends: a pool that runs tasks in parallel
// shows a peak of 2 or more however loaded the machine, one that runs them
// one at a time waits long once, then shows 1. (A task that slept instead
// showed 1 when the machine was too busy to start a second one meanwhile.)
type peakTracker struct {
	running, peak atomic.Int32
	two           chan struct{}
	once          sync.Once
}

func newPeakTracker(t *testing.T) *peakTracker {
	pt := &peakTracker{two: make(chan struct{})}
	timer := time.AfterFunc(long, pt.open)
	t.Cleanup(func() { timer.Stop() })
	return pt
}

func (pt *peakTracker) open() { pt.once.Do(func() { close(pt.two) }) }

func (pt *peakTracker) enter() {
	n := pt.running.Add(1)
	for old := pt.peak.Load(); n > old && !pt.peak.CompareAndSwap(old, n); old = pt.peak.Load() {
	}
	if n >= 2 {
		pt.open()
	}
	<-pt.two
}

func (pt *peakTracker) leave() { pt.running.Add(-1) }

var errBoom = errors.New("boom")

func TestMapFirstErrorStopsTheRest(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	var started atomic.Int32
	f := mp.Fn(func(ctx context.Context, x int) (int, error) {
		started.Add(1)
		if x == 3 {
			return 0, errBoom
		}
		select { // slow tasks that honour cancellation
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return x, nil
	})
	var out []int
	var err error
	within(t, "Map", func() { out, err = mp.Map(context.Background(), p, f, ints(1000), mp.Chunksize(1)) })
	var te *mp.TaskError
	if !errors.As(err, &te) || te.Index != 3 || !errors.Is(err, errBoom) {
		t.Fatalf("err = %v, want *TaskError for index 3 wrapping boom", err)
	}
	if !slices.Equal(out, []int{0, 1, 2}) {
		t.Errorf("results before the failure: %v, want 0 1 2", out)
	}
	if n := started.Load(); n > 100 {
		t.Errorf("%d of 1000 tasks started after the first failure", n)
	}
}

func TestMapPartial(t *testing.T) {
	p := newPool(t, mp.Threads(3))
	f := mp.Fn(func(ctx context.Context, x int) (int, error) {
		if x%10 == 0 {
			return 0, fmt.Errorf("item %d: %w", x, errBoom)
		}
		return x * 2, nil
	})
	out, err := mp.Map(context.Background(), p, f, ints(50), mp.Partial(), mp.Chunksize(3))
	if len(out) != 50 {
		t.Fatalf("got %d results, want 50", len(out))
	}
	for i, v := range out {
		want := i * 2
		if i%10 == 0 {
			want = 0
		}
		if v != want {
			t.Errorf("out[%d] = %d, want %d", i, v, want)
		}
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("err = %v, want errors.Join of task errors", err)
	}
	var idx []int
	for _, e := range joined.Unwrap() {
		var te *mp.TaskError
		if !errors.As(e, &te) {
			t.Fatalf("%v is not a *TaskError", e)
		}
		idx = append(idx, te.Index)
	}
	if !slices.Equal(idx, []int{0, 10, 20, 30, 40}) {
		t.Errorf("failed indices %v, want 0,10,...,40 in order", idx)
	}
	if !errors.Is(err, errBoom) {
		t.Errorf("errors.Is(err, errBoom) = false")
	}
}

func TestPanicBecomesTaskError(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	f := mp.Fn(func(ctx context.Context, x int) (int, error) {
		if x == 7 || x == 8 {
			panic(fmt.Sprintf("bad item %d", x))
		}
		return x, nil
	})
	ctx := context.Background()
	_, err := mp.Map(ctx, p, f, ints(20), mp.Chunksize(20))
	var pe *mp.PanicError
	if !errors.As(err, &pe) || pe.Value != "bad item 7" || !strings.Contains(string(pe.Stack), "pool_test.go") {
		t.Fatalf("err = %v, want a *PanicError for item 7 with a stack", err)
	}
	// With Partial, the chunk resumes after the panic.
	out, err := mp.Map(ctx, p, f, ints(20), mp.Chunksize(20), mp.Partial())
	if out[19] != 19 || out[6] != 6 || out[9] != 9 {
		t.Errorf("items around the panics not run: %v", out)
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 2 {
		t.Errorf("%d errors, want 2", n)
	}
	// The pool still works.
	v, err := mp.Apply(ctx, p, f, 3)
	if v != 3 || err != nil {
		t.Errorf("Apply after panics = %v, %v", v, err)
	}
	_, err = mp.Apply(ctx, p, f, 7)
	if !errors.As(err, &pe) {
		t.Errorf("Apply panic: err = %v, want *PanicError", err)
	}
	pe2 := &mp.PanicError{Value: io.EOF}
	if !errors.Is(pe2, io.EOF) {
		t.Error("PanicError does not unwrap an error value")
	}
}

func blocker(started chan<- int) mp.Func[int, int] {
	return mp.Fn(func(ctx context.Context, x int) (int, error) {
		if started != nil {
			started <- x
		}
		<-ctx.Done()
		return 0, context.Cause(ctx)
	})
}

func TestCancelReturnsPromptlyWithCause(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	cause := errors.New("user gave up")
	calls := map[string]func(ctx context.Context) error{
		"Map": func(ctx context.Context) error {
			_, err := mp.Map(ctx, p, blocker(nil), ints(10))
			return err
		},
		"Imap": func(ctx context.Context) error {
			for _, err := range mp.Imap(ctx, p, blocker(nil), slices.Values(ints(10))) {
				return err
			}
			return nil
		},
		"ImapUnordered": func(ctx context.Context) error {
			for _, err := range mp.ImapUnordered(ctx, p, blocker(nil), slices.Values(ints(10))) {
				return err
			}
			return nil
		},
		"Apply": func(ctx context.Context) error {
			_, err := mp.Apply(ctx, p, blocker(nil), 1)
			return err
		},
		"MapAsync": func(ctx context.Context) error {
			_, err := mp.MapAsync(ctx, p, blocker(nil), ints(4)).Get(context.Background())
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(20*time.Millisecond, func() { cancel(cause) })
			var err error
			within(t, name, func() { err = call(ctx) })
			if !errors.Is(err, cause) {
				t.Errorf("err = %v, want the cause", err)
			}
		})
	}
	// Already cancelled: nothing runs.
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if _, err := mp.Map(ctx, p, square, ints(3)); !errors.Is(err, cause) {
		t.Errorf("Map on a cancelled ctx: %v", err)
	}
	if _, err := mp.Submit(ctx, p, square, 3).Get(context.Background()); !errors.Is(err, cause) {
		t.Errorf("Submit on a cancelled ctx: %v", err)
	}
}

func TestTimeoutAndRetries(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	ctx := context.Background()
	var attempts atomic.Int32
	slow := mp.Fn(func(ctx context.Context, x int) (int, error) {
		attempts.Add(1)
		if x == 1 {
			<-ctx.Done() // honours the deadline
			return 0, ctx.Err()
		}
		if x == 2 {
			time.Sleep(30 * time.Millisecond) // ignores it
			return 2, nil
		}
		return x, nil
	})
	// Item 0 returns at once, but has to within the timeout: 10 ms, as
	// it was, is within a loaded machine's delay in running a goroutine.
	_, err := mp.Map(ctx, p, slow, []int{0, 1}, mp.Timeout(200*time.Millisecond), mp.Retries(2))
	if !errors.Is(err, mp.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if n := attempts.Load(); n != 4 { // item 0 once, item 1 three times
		t.Errorf("%d attempts, want 4", n)
	}
	if _, err := mp.Apply(ctx, p, slow, 2, mp.Timeout(5*time.Millisecond)); !errors.Is(err, mp.ErrTimeout) {
		t.Errorf("late result: err = %v, want ErrTimeout", err)
	}

	var tries atomic.Int32
	flaky := mp.Fn(func(ctx context.Context, x int) (int, error) {
		if tries.Add(1) < 3 {
			return 0, errBoom
		}
		return x, nil
	})
	if v, err := mp.Apply(ctx, p, flaky, 9, mp.Retries(2)); v != 9 || err != nil {
		t.Errorf("flaky with 2 retries = %v, %v", v, err)
	}
	tries.Store(0)
	if _, err := mp.Apply(ctx, p, flaky, 9, mp.Retries(1)); !errors.Is(err, errBoom) {
		t.Errorf("flaky with 1 retry: err = %v, want boom", err)
	}
}

// A pool option given to a call is a compile error: the pool-only
// options are PoolOptions and not Options (calls take Options). Every
// Option is a PoolOption: a call option given to NewPool is a default.
func TestPoolOnlyOptionsAreNotCallOptions(t *testing.T) {
	init := mp.Fn(func(context.Context, int) (int, error) { return 0, nil })
	for name, o := range map[string]mp.PoolOption{
		"Threads": mp.Threads(1), "Processes": mp.Processes(1), "Initializer": mp.Initializer(init, 0),
		"MaxTasksPerChild": mp.MaxTasksPerChild(1), "Logger": mp.Logger(nil), "HandshakeTimeout": mp.HandshakeTimeout(time.Second),
		"MaxMemoryPerChild": mp.MaxMemoryPerChild(1 << 30), "Cluster": mp.Cluster(""), "LocalWorkers": mp.LocalWorkers(1),
		"AckWait": mp.AckWait(time.Second), "ClusterCredentials": mp.ClusterCredentials("f"), "ClusterCA": mp.ClusterCA("f"),
		"ClusterRun": mp.ClusterRun("r"), "Dashboard": mp.Dashboard(":0"), "MemFree": mp.MemFree(1 << 30),
	} {
		if _, ok := o.(mp.Option); ok {
			t.Errorf("%s is an Option: a call would take it", name)
		}
	}
	var _ []mp.PoolOption = []mp.PoolOption{mp.Chunksize(1), mp.Timeout(time.Second), mp.Retries(1), mp.Partial(), mp.Progress("x"), mp.Checkpoint("d"), mp.ProgressTicks()}
}

func TestInvalidInput(t *testing.T) {
	ctx := context.Background()
	poolTests := []struct {
		name string
		opt  mp.PoolOption
		want string
	}{
		{"zero threads", mp.Threads(0), "Threads(0)"},
		{"negative max tasks", mp.MaxTasksPerChild(-1), "MaxTasksPerChild"},
		{"zero initializer", mp.Initializer(mp.Func[int, int]{}, 0), "Initializer with a zero Func"},
		{"bad default chunksize", mp.Chunksize(0), "Chunksize(0)"},
	}
	for _, tt := range poolTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mp.NewPool(tt.opt)
			if !errors.Is(err, mp.ErrInvalidOption) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewPool: %v, want ErrInvalidOption naming %s", err, tt.want)
			}
		})
	}
	p := newPool(t, mp.Threads(1))
	callTests := []struct {
		name string
		err  error
		want string
	}{
		{"zero Func", func() error { _, err := mp.Map(ctx, p, mp.Func[int, int]{}, ints(2)); return err }(), "zero Func"},
		{"nil pool", func() error { _, err := mp.Map(ctx, nil, square, ints(2)); return err }(), "mp.NewPool"},
		{"zero pool", func() error { _, err := mp.Apply(ctx, &mp.Pool{}, square, 2); return err }(), "mp.NewPool"},
		{"nil pool Submit", mp.Submit(ctx, nil, square, 1).Err(), "mp.NewPool"},
		{"timeout", mp.Submit(ctx, p, square, 1, mp.Timeout(-1)).Err(), "Timeout"},
		{"retries", func() error { _, err := mp.Apply(ctx, p, square, 1, mp.Retries(-1)); return err }(), "Retries"},
		{"nil bar", func() error { _, err := mp.Map(ctx, p, square, ints(2), mp.ProgressBar(nil)); return err }(), "ProgressBar"},
		{"nil sequence", func() error {
			for _, err := range mp.Imap(ctx, p, square, nil) {
				return err
			}
			return nil
		}(), "nil sequence"},
		{"AsCompleted option", func() error {
			for _, err := range mp.AsCompleted(ctx, []*mp.Future[int]{}, mp.Chunksize(2)) {
				return err
			}
			return nil
		}(), "only Progress"},
	}
	for _, tt := range callTests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, mp.ErrInvalidOption) || !strings.Contains(tt.err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidOption naming %q", tt.err, tt.want)
			}
		})
	}
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "twice") {
				t.Errorf("second Register: recover() = %v", r)
			}
		}()
		mp.Register("test.square", mp.Plain(func(x int) int { return x }))
	}()
	if !square.Registered() || square.Name() != "test.square" || mp.Fn(mp.Plain(func(int) int { return 0 })).Registered() {
		t.Error("Registered/Name wrong")
	}
}

var (
	mul3 = mp.Register3("test.mul3", func(_ context.Context, a, b, c int) (int, error) { return a * b * c, nil })
	r2   = mp.Register2("test.sub", func(_ context.Context, a, b int) (int, error) { return a - b, nil })
)

func TestStarmap(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	ctx := context.Background()
	add := mp.Fn2(func(_ context.Context, a int, b string) (string, error) { return fmt.Sprint(a, b), nil })
	got, err := mp.Starmap(ctx, p, add, []mp.Args2[int, string]{{1, "a"}, {2, "b"}})
	if err != nil || !slices.Equal(got, []string{"1a", "2b"}) {
		t.Errorf("Starmap = %v, %v", got, err)
	}
	got3, err := mp.StarmapAsync(ctx, p, mul3, []mp.Args3[int, int, int]{{1, 2, 3}, {2, 2, 2}}).Get(ctx)
	if err != nil || !slices.Equal(got3, []int{6, 8}) {
		t.Errorf("StarmapAsync = %v, %v", got3, err)
	}
	if v, err := mp.Apply(ctx, p, r2, mp.Args2[int, int]{5, 3}); v != 2 || err != nil {
		t.Errorf("Register2 = %v, %v", v, err)
	}
	f3 := mp.Fn3(func(_ context.Context, a, b, c string) (string, error) { return a + b + c, nil })
	if v, _ := f3.Call(ctx, mp.Args3[string, string, string]{"x", "y", "z"}); v != "xyz" {
		t.Errorf("Fn3 = %q", v)
	}
	pe := mp.PlainErr(func(x int) (int, error) { return 0, errBoom })
	if _, err := mp.Apply(ctx, p, mp.Fn(pe), 1); !errors.Is(err, errBoom) {
		t.Errorf("PlainErr: %v", err)
	}
}

func TestCloseJoinTerminate(t *testing.T) {
	ctx := context.Background()
	t.Run("Close finishes queued work", func(t *testing.T) {
		p := newPool(t, mp.Threads(1))
		slow := mp.Fn(func(ctx context.Context, x int) (int, error) { time.Sleep(5 * time.Millisecond); return x, nil })
		var fs []*mp.Future[int]
		for i := range 10 {
			fs = append(fs, mp.Submit(ctx, p, slow, i))
		}
		within(t, "Close", func() { p.Close() })
		for i, f := range fs {
			if !f.Ready() {
				t.Fatalf("future %d not resolved after Close", i)
			}
			if v, err := f.Get(ctx); v != i || err != nil {
				t.Errorf("future %d = %v, %v", i, v, err)
			}
		}
		if _, err := mp.Map(ctx, p, square, ints(3)); !errors.Is(err, mp.ErrClosed) {
			t.Errorf("Map after Close: %v", err)
		}
		if _, err := mp.Apply(ctx, p, square, 3); !errors.Is(err, mp.ErrClosed) {
			t.Errorf("Apply after Close: %v", err)
		}
		p.Close()
		p.Join()
		p.Terminate()
	})
	t.Run("Join leaves the pool open", func(t *testing.T) {
		p := newPool(t, mp.Threads(2))
		var done atomic.Int32
		slow := mp.Fn(func(ctx context.Context, x int) (int, error) {
			time.Sleep(2 * time.Millisecond)
			done.Add(1)
			return x, nil
		})
		for i := range 20 {
			mp.Submit(ctx, p, slow, i)
		}
		within(t, "Join", p.Join)
		if done.Load() != 20 {
			t.Errorf("Join returned with %d of 20 tasks done", done.Load())
		}
		if v, err := mp.Apply(ctx, p, square, 4); v != 16 || err != nil {
			t.Errorf("Apply after Join = %v, %v", v, err)
		}
		p.Join()
		p.Close()
	})
	t.Run("Terminate cancels running and queued", func(t *testing.T) {
		p := newPool(t, mp.Threads(2))
		started := make(chan int, 10)
		b := blocker(started)
		f1 := mp.Submit(ctx, p, b, 1)
		f2 := mp.Submit(ctx, p, b, 2)
		<-started
		<-started
		queued := mp.Submit(ctx, p, b, 3)
		mapDone := mp.MapAsync(ctx, p, b, ints(8), mp.Chunksize(1))
		within(t, "Terminate", p.Terminate)
		for name, err := range map[string]error{"running": f1.Err(), "running 2": f2.Err(), "queued": queued.Err()} {
			if !errors.Is(err, mp.ErrClosed) {
				t.Errorf("%s future: %v, want ErrClosed", name, err)
			}
		}
		var err error
		within(t, "MapAsync", func() { _, err = mapDone.Get(ctx) })
		if !errors.Is(err, mp.ErrClosed) {
			t.Errorf("map: %v, want ErrClosed", err)
		}
		p.Terminate()
		p.Close()
		p.Join()
	})
}

type state struct {
	id     int
	closed *atomic.Int32
}

func (s *state) Close() error { s.closed.Add(1); return nil }

func TestInitializerAndMaxTasksPerChild(t *testing.T) {
	ctx := context.Background()
	var inits, closed atomic.Int32
	init := mp.Initializer(mp.Fn(func(ctx context.Context, _ struct{}) (*state, error) {
		return &state{id: int(inits.Add(1)), closed: &closed}, nil
	}), struct{}{})
	p, err := mp.NewPool(mp.Threads(2), init, mp.MaxTasksPerChild(5))
	if err != nil {
		t.Fatal(err)
	}
	if inits.Load() != 2 {
		t.Errorf("%d initializations for 2 workers", inits.Load())
	}
	seen := mp.Fn(func(ctx context.Context, x int) (int, error) {
		s, ok := mp.WorkerState[*state](ctx)
		if !ok || mp.WorkerID(ctx) == 0 {
			return 0, errors.New("no worker state")
		}
		return s.id, nil
	})
	ids, err := mp.Map(ctx, p, seen, ints(40), mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	for _, id := range ids {
		counts[id]++
	}
	for id, n := range counts {
		if n > 5 {
			t.Errorf("state %d served %d tasks, limit 5", id, n)
		}
	}
	if len(counts) < 8 {
		t.Errorf("40 tasks at 5 per worker used only %d worker states", len(counts))
	}
	p.Close()
	if inits.Load() != closed.Load() {
		t.Errorf("%d states built, %d closed", inits.Load(), closed.Load())
	}
	if _, ok := mp.WorkerState[*state](ctx); ok {
		t.Error("WorkerState outside a task")
	}

	_, err = mp.NewPool(mp.Threads(3), mp.Initializer(mp.Fn(func(ctx context.Context, bad int) (int, error) {
		if mp.WorkerID(ctx) == bad {
			return 0, errBoom
		}
		return 1, nil
	}), 2))
	if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "worker 2") {
		t.Errorf("failing initializer: %v, want boom naming worker 2", err)
	}
}

func TestBrokenPoolWhenReplacementInitFails(t *testing.T) {
	var n atomic.Int32
	p, err := mp.NewPool(mp.Threads(1), mp.MaxTasksPerChild(1), mp.Initializer(mp.Fn(func(ctx context.Context, _ int) (int, error) {
		if n.Add(1) > 1 {
			return 0, errBoom
		}
		return 0, nil
	}), 0), mp.Logger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	gate := make(chan struct{})
	first := mp.Submit(ctx, p, mp.Fn(func(ctx context.Context, x int) (int, error) { <-gate; return x, nil }), 1)
	second := mp.Submit(ctx, p, square, 2)
	close(gate)
	if v, err := first.Get(ctx); v != 1 || err != nil {
		t.Errorf("first = %v, %v", v, err)
	}
	var err2 error
	within(t, "second future", func() { _, err2 = second.Get(ctx) })
	if !errors.Is(err2, mp.ErrBrokenPool) || !errors.Is(err2, errBoom) {
		t.Errorf("queued task on a broken pool: %v", err2)
	}
	if _, err := mp.Apply(ctx, p, square, 3); !errors.Is(err, mp.ErrBrokenPool) {
		t.Errorf("new task on a broken pool: %v", err)
	}
}

func TestGroupBy(t *testing.T) {
	type row struct {
		k string
		v int
	}
	rows := []row{{"b", 1}, {"a", 2}, {"b", 3}, {"c", 4}, {"a", 5}}
	groups := mp.GroupBy(rows, func(r row) string { return r.k })
	var keys []string
	for _, g := range groups {
		keys = append(keys, g.Key)
	}
	if !slices.Equal(keys, []string{"b", "a", "c"}) {
		t.Errorf("keys %v, want first-seen order b a c", keys)
	}
	if len(groups[0].Items) != 2 || groups[0].Items[1].v != 3 {
		t.Errorf("group b = %v", groups[0].Items)
	}
	p := newPool(t, mp.Threads(2))
	sum := mp.Fn(func(_ context.Context, g mp.Group[string, row]) ([]int, error) {
		var out []int
		for _, r := range g.Items {
			out = append(out, r.v*10)
		}
		return out, nil
	})
	parts, err := mp.Map(context.Background(), p, sum, groups)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Concat(parts...); !slices.Equal(got, []int{10, 30, 20, 50, 40}) {
		t.Errorf("concat = %v", got)
	}
	if len(mp.GroupBy([]int(nil), func(int) int { return 0 })) != 0 {
		t.Error("groups of nothing")
	}
}

func TestProgressTicksPerItem(t *testing.T) {
	p := newPool(t, mp.Threads(1))
	bar := progress.New(10, progress.WithMode(progress.Off))
	defer bar.Close()
	gate := make(chan struct{})
	f := mp.Fn(func(ctx context.Context, x int) (int, error) {
		if x == 4 {
			<-gate
		}
		return x, nil
	})
	res := mp.MapAsync(context.Background(), p, f, ints(10), mp.Chunksize(10), mp.ProgressBar(bar))
	deadline := time.Now().Add(long)
	for bar.Count() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := bar.Count(); n != 4 {
		t.Errorf("bar at %d while item 4 of one chunk of 10 runs, want 4", n)
	}
	close(gate)
	if _, err := res.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if bar.Count() != 10 {
		t.Errorf("bar at %d after the map, want 10", bar.Count())
	}
	// Progress(desc) makes and closes its own bar. The call returns after
	// the bar is closed, so a plain buffer is safe to read then.
	var buf strings.Builder
	if _, err := mp.Map(context.Background(), p, square, ints(5), mp.Progress("squares", progress.Writer(&buf), progress.WithMode(progress.Plain))); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "squares: 5/5 100%") {
		t.Errorf("progress output %q", out)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
