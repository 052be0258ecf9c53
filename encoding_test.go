//go:build linux

package mp_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
)

type handlerItem struct {
	Name    string
	Handler any
}

type waveform struct {
	Name string
	Bins []complex128
	Gain complex64
}

type withItems struct {
	N     int
	Items []handlerItem
}

type withFuncField struct {
	N  int
	Fn func(int)
}

// link is a linked list: n links are n levels of nesting.
type link struct {
	V    int
	Next *link
}

func chain(n int) *link {
	var head *link
	for i := n; i > 0; i-- {
		head = &link{V: i, Next: head}
	}
	return head
}

func (l *link) length() int {
	n := 0
	for ; l != nil; l = l.Next {
		n++
	}
	return n
}

var (
	// badResult returns, for odd x, a result holding a function at
	// .Items[2].Handler.
	badResult = mp.Register("test.badResult", mp.Plain(func(x int) withItems {
		r := withItems{N: x, Items: make([]handlerItem, 3)}
		if x%2 == 1 {
			r.Items[2].Handler = func(int) {}
		}
		return r
	}))
	funcFieldResult = mp.Register("test.funcFieldResult", mp.Plain(func(x int) withFuncField { return withFuncField{N: x} }))
	complexResult   = mp.Register("test.complexResult", mp.Plain(func(x int) complex128 { return complex(float64(x), 1) }))
	complexInAny    = mp.Register("test.complexInAny", mp.Plain(func(x int) handlerItem { return handlerItem{Handler: complex(float64(x), 1)} }))
	spectrum        = mp.Register("test.spectrum", mp.Plain(func(s waveform) waveform {
		for i := range s.Bins {
			s.Bins[i] *= 2i
		}
		return s
	}))
	workerPID  = mp.Register("test.workerPID", mp.Plain(func(int) int { return os.Getpid() }))
	linkLength = mp.Register("test.linkLength", mp.Plain(func(l *link) int { return l.length() }))
	makeChain  = mp.Register("test.makeChain", mp.Plain(chain))
	pairLength = mp.Register("test.pairLength", mp.Plain(func(ls [2]*link) int { return ls[0].length() + ls[1].length() }))
	strLen     = mp.Register("test.strLen", mp.Plain(func(s string) int { return len(s) }))
	bigResult  = mp.Register("test.bigResult", mp.Plain(func(n int) string { return strings.Repeat("x", n) }))
)

// Defect 2.4: a result that cannot be encoded failed the whole worker
// ("worker process N exited with status 3"). It fails its own item,
// naming the type and the path, and the worker goes on serving.
func TestResultThatCannotBeEncoded(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, mp.Processes(2))
	out, err := mp.Map(ctx, p, badResult, ints(8), mp.Partial(), mp.Chunksize(4))
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) || len(joined.Unwrap()) != 4 {
		t.Fatalf("err = %v, want the 4 odd items' errors", err)
	}
	for _, e := range joined.Unwrap() {
		var te *mp.TaskError
		if !errors.As(e, &te) || te.Index%2 != 1 {
			t.Errorf("%v: want a *TaskError of an odd item", e)
		}
		if !errors.Is(e, mp.ErrEncoding) {
			t.Errorf("%v: errors.Is(err, mp.ErrEncoding) = false", e)
		}
		for _, want := range []string{"test.badResult", "mp_test.withItems", "func(int) at .Items[2].Handler", "functions cannot cross a process boundary"} {
			if !strings.Contains(e.Error(), want) {
				t.Errorf("%v\ndoes not say %q", e, want)
			}
		}
		if strings.Contains(e.Error(), "exited") {
			t.Errorf("%v: a worker died", e)
		}
	}
	for i, r := range out {
		if i%2 == 0 && (r.N != i || len(r.Items) != 3) {
			t.Errorf("out[%d] = %+v", i, r)
		}
	}

	// the worker that could not encode a result keeps serving
	one := newPool(t, mp.Processes(1))
	pid, err := mp.Apply(ctx, one, workerPID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"a field of func type", func() error { _, err := mp.Apply(ctx, one, funcFieldResult, 1); return err }, "func(int) at .Fn"},
		{"complex128 inside an interface", func() error { _, err := mp.Apply(ctx, one, complexInAny, 1); return err }, "complex128 at .Handler"},
		{"a func inside", func() error { _, err := mp.Apply(ctx, one, badResult, 1); return err }, ".Items[2].Handler"},
	} {
		err := tc.call()
		if !errors.Is(err, mp.ErrEncoding) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mp.ErrEncoding naming %q", tc.name, err, tc.want)
		}
	}
	if again, err := mp.Apply(ctx, one, workerPID, 0); err != nil || again != pid {
		t.Errorf("after the results that could not be encoded: worker %d, %v; want the same worker %d", again, err, pid)
	}
}

// Complex numbers, which CBOR lacks, travel as [real, imaginary]: the
// same result that killed the worker (defect 2.4) now arrives.
func TestComplexNumbersCrossProcesses(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, mp.Processes(2))
	if z, err := mp.Apply(ctx, p, complexResult, 3); err != nil || z != complex(3, 1) {
		t.Errorf("Apply = %v, %v; want (3+1i)", z, err)
	}
	in := waveform{Name: "s", Bins: []complex128{1, 1i, complex(2, -3)}, Gain: 0.5i}
	out, err := mp.Map(ctx, p, spectrum, []waveform{in, in})
	if err != nil || len(out) != 2 || out[1].Name != "s" || out[1].Gain != 0.5i || out[1].Bins[2] != complex(2, -3)*2i {
		t.Errorf("Map = %+v, %v", out, err)
	}
	q, err := mp.NewQueue[waveform](0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	if err := q.Put(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got, err := q.Get(ctx); err != nil || got.Bins[1] != 1i || got.Gain != 0.5i {
		t.Errorf("Queue: %+v, %v", got, err)
	}
}

// Defect 2.7: a value with a pointer cycle crashed the program (fatal
// stack overflow) in Apply, Queue.Put, Conn.Send and NewProcess. Each
// refuses it, naming where the cycle closes.
func TestPointerCycleIsAnError(t *testing.T) {
	ctx := context.Background()
	ring := chain(3)
	ring.Next.Next.Next = ring // closes at .Next.Next.Next
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, mp.ErrEncoding) {
			t.Errorf("%s: err = %v, want mp.ErrEncoding", what, err)
			return
		}
		for _, want := range []string{"pointer cycle", "at .Next.Next.Next", "points back to the value itself"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v\ndoes not say %q", what, err, want)
			}
		}
	}
	p := newPool(t, mp.Processes(2))
	_, err := mp.Apply(ctx, p, linkLength, ring)
	check("Apply", err)
	_, err = mp.Submit(ctx, p, linkLength, ring).Get(ctx)
	check("Submit", err)

	q, err := mp.NewQueue[*link](0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	check("Queue.Put", q.Put(ctx, ring))
	if n := q.Qsize(); n != 0 {
		t.Errorf("Qsize = %d after a refused Put", n)
	}

	a, b, err := mp.Pipe[*link](false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlink()
	check("Conn.Send", b.Send(ctx, ring))

	_, err = mp.NewProcess(linkLength, ring)
	check("NewProcess", err)

	// a value that shares a pointer without a cycle is fine
	shared := chain(2)
	if n, err := mp.Apply(ctx, p, pairLength, [2]*link{shared, shared}); err != nil || n != 4 {
		t.Errorf("a shared pointer: %d, %v", n, err)
	}
}

// Defect 2.8: a value nested deeper than 64 levels was encoded, then
// refused by the receiver: Queue.Put accepted it and Get lost it. The
// limit is 1,000 levels, the same both ways, checked when sending.
func TestDeepValues(t *testing.T) {
	ctx := context.Background()
	q, err := mp.NewQueue[*link](0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	for _, n := range []int{300, 1000} {
		if err := q.Put(ctx, chain(n)); err != nil {
			t.Fatalf("Put of %d levels: %v", n, err)
		}
		got, err := q.Get(ctx)
		if err != nil || got.length() != n {
			t.Fatalf("Get of %d levels: %d levels, %v", n, got.length(), err)
		}
	}
	err = q.Put(ctx, chain(1001))
	if !errors.Is(err, mp.ErrEncoding) || !strings.Contains(err.Error(), "MP_MAX_DEPTH") || !strings.Contains(err.Error(), "1000 levels") {
		t.Errorf("Put of 1001 levels: %v; want mp.ErrEncoding naming the limit and MP_MAX_DEPTH", err)
	}
	if n := q.Qsize(); n != 0 {
		t.Errorf("Qsize = %d after a refused Put", n)
	}

	a, b, err := mp.Pipe[*link](false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlink()
	if err := b.Send(ctx, chain(1000)); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Recv(ctx); err != nil || got.length() != 1000 {
		t.Errorf("Recv: %d levels, %v", got.length(), err)
	}
	if err := b.Send(ctx, chain(1001)); !errors.Is(err, mp.ErrEncoding) {
		t.Errorf("Send of 1001 levels: %v", err)
	}

	// to a worker process and back
	p := newPool(t, mp.Processes(2))
	if n, err := mp.Apply(ctx, p, linkLength, chain(1000)); err != nil || n != 1000 {
		t.Errorf("Apply with 1000 levels: %d, %v", n, err)
	}
	if l, err := mp.Apply(ctx, p, makeChain, 1000); err != nil || l.length() != 1000 {
		t.Errorf("a result of 1000 levels: %d, %v", l.length(), err)
	}
	if _, err := mp.Apply(ctx, p, linkLength, chain(1001)); !errors.Is(err, mp.ErrEncoding) || !strings.Contains(err.Error(), "MP_MAX_DEPTH") {
		t.Errorf("Apply with 1001 levels: %v", err)
	}
	if _, err := mp.Apply(ctx, p, makeChain, 1001); !errors.Is(err, mp.ErrEncoding) || !strings.Contains(err.Error(), "MP_MAX_DEPTH") {
		t.Errorf("a result of 1001 levels: %v", err)
	}
	if _, err := mp.NewProcess(linkLength, chain(1001)); !errors.Is(err, mp.ErrEncoding) {
		t.Errorf("NewProcess with 1001 levels: %v", err)
	}
}

// A Process's return value is not used (Python ignores a target's), so
// one that cannot be encoded does not fail the process.
func TestProcessResultNeedNotBeEncodable(t *testing.T) {
	ctx := context.Background()
	p, err := mp.NewProcess(funcFieldResult, 1)
	startProcess(t, p, err)
	within(t, "Join", func() { err = p.Join(ctx) })
	if code, ok := p.ExitCode(); err != nil || !ok || code != 0 {
		t.Errorf("Join = %v, exit code %d (%v); want a clean exit", err, code, ok)
	}
}

// A result too big for a message from a worker (64 MiB) killed the
// worker ("exited with status 3"); it fails its item, and the worker
// goes on.
func TestResultTooBigFailsItsItem(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, mp.Processes(1))
	pid, err := mp.Apply(ctx, p, workerPID, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mp.Apply(ctx, p, bigResult, 70<<20)
	if !errors.Is(err, mp.ErrEncoding) || !strings.Contains(err.Error(), "test.bigResult") || !strings.Contains(err.Error(), "bytes, more than") {
		t.Errorf("err = %v, want mp.ErrEncoding saying the result is too big", err)
	}
	if again, err := mp.Apply(ctx, p, workerPID, 0); err != nil || again != pid {
		t.Errorf("after the result too big: worker %d, %v; want the same worker %d", again, err, pid)
	}
}

// An argument too big for a message to a worker (64 MiB) got the worker
// killed, after seconds, with a message about the worker; it fails at
// once with the reason, and the worker goes on.
func TestArgumentTooBigFailsItsItem(t *testing.T) {
	ctx := context.Background()
	p := newPool(t, mp.Processes(1))
	pid, err := mp.Apply(ctx, p, workerPID, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mp.Apply(ctx, p, strLen, strings.Repeat("x", 70<<20))
	if !errors.Is(err, mp.ErrEncoding) || !strings.Contains(err.Error(), "bytes, more than") {
		t.Errorf("err = %v, want mp.ErrEncoding saying the argument is too big", err)
	}
	if again, err := mp.Apply(ctx, p, workerPID, 0); err != nil || again != pid {
		t.Errorf("after the argument too big: worker %d, %v; want the same worker %d", again, err, pid)
	}
	// a Process's argument: refused by NewProcess, not by Start in the child
	if _, err := mp.NewProcess(strLen, strings.Repeat("x", 70<<20)); !errors.Is(err, mp.ErrEncoding) || !strings.Contains(err.Error(), "bytes, more than") {
		t.Errorf("NewProcess: err = %v, want mp.ErrEncoding saying the argument is too big", err)
	}
}

// MP_MAX_DEPTH sets the nesting limit of a program and of the processes
// it starts: the test binary runs itself with MP_MAX_DEPTH=2000 and
// sends 1,500 levels through a Queue and a worker process.
func TestDepthLimitFromTheEnvironment(t *testing.T) {
	if os.Getenv("MP_TEST_DEPTH_CHILD") != "" {
		ctx := context.Background()
		q, err := mp.NewQueue[*link](0)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Unlink()
		if err := q.Put(ctx, chain(1500)); err != nil {
			t.Fatal(err)
		}
		if l, err := q.Get(ctx); err != nil || l.length() != 1500 {
			t.Fatalf("Queue: %d levels, %v", l.length(), err)
		}
		p := newPool(t, mp.Processes(1))
		if n, err := mp.Apply(ctx, p, linkLength, chain(1500)); err != nil || n != 1500 {
			t.Fatalf("Apply: %d, %v", n, err)
		}
		if _, err := mp.Apply(ctx, p, linkLength, chain(2001)); !errors.Is(err, mp.ErrEncoding) || !strings.Contains(err.Error(), "2000 levels") {
			t.Fatalf("Apply with 2001 levels: %v", err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestDepthLimitFromTheEnvironment$", "-test.count", "1", "-test.v")
	cmd.Env = proc.SelfEnv("MP_TEST_DEPTH_CHILD=1", "MP_MAX_DEPTH=2000")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestDepthLimitFromTheEnvironment") {
		t.Fatalf("the program with MP_MAX_DEPTH=2000: %v\n%s", err, out)
	}
}
