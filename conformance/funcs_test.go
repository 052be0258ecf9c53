//go:build linux

package conformance

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mp-go/mp"
)

// The functions the tests run, in worker processes too: registered at
// package level so that the re-executed test binary knows them by name.
var (
	// sqr is CPython's sqr(x, wait=0.0).
	sqr = mp.Register("conf.sqr", func(_ context.Context, x int) (int, error) { return x * x, nil })
	// sqrWait sleeps ms milliseconds (until ctx ends) and returns x*x.
	sqrWait = mp.Register2("conf.sqrWait", func(ctx context.Context, x, ms int) (int, error) {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return x * x, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	mul    = mp.Register2("conf.mul", func(_ context.Context, x, y int) (int, error) { return x * y, nil })
	powFn  = mp.Register2("conf.pow", func(_ context.Context, x, y int) (int, error) { return ipow(x, y), nil })
	absFn  = mp.Register("conf.abs", func(_ context.Context, x int) (int, error) { return max(x, -x), nil })
	divmod = mp.Register2("conf.divmod", func(_ context.Context, x, y int) ([2]int, error) {
		if y == 0 {
			return [2]int{}, zeroDivisionError{}
		}
		return [2]int{x / y, x % y}, nil
	})
	// atoi is Python's int(str).
	atoi = mp.Register("conf.atoi", func(_ context.Context, s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, valueError{fmt.Sprintf("invalid literal for int() with base 10: %q", s)}
		}
		return n, nil
	})
	// raising is CPython's raising(): raise KeyError("key").
	raising = mp.Register("conf.raising", func(_ context.Context, _ int) (int, error) { return 0, keyError{"key"} })
	// raisingRuntime is _TestPool._test_traceback: raise RuntimeError(123).
	raisingRuntime = mp.Register("conf.raisingRuntime", func(_ context.Context, _ int) (int, error) {
		return 0, runtimeError{"123"}
	})
	// panicking panics, as an uncaught exception with a traceback.
	panicking = mp.Register("conf.panicking", func(_ context.Context, _ int) (int, error) {
		panic(runtimeError{"123"})
	})
	// raiseLargeValueError is CPython's raise_large_valuerror.
	raiseLargeValueError = mp.Register("conf.raiseLargeValueError", func(_ context.Context, _ int) (int, error) {
		return 0, valueError{strings.Repeat("x", 1024*1024)}
	})
	// unpicklableResult returns a value that cannot be encoded: CPython's
	// lambda (even i), and the same trap inside a struct (odd i).
	unpicklableResult = mp.Register("conf.unpicklableResult", func(_ context.Context, i int) (any, error) {
		if i%2 == 1 {
			return withFunc{F: func() int { return 42 }}, nil
		}
		return func() int { return 42 }, nil
	})
	// complexResult returns a complex number, which Python pickles.
	complexResult = mp.Register("conf.complexResult", func(_ context.Context, _ int) (complex128, error) {
		return complex(1, 2), nil
	})
	// sleepMs sleeps ms milliseconds or until its context ends.
	sleepMs = mp.Register("conf.sleepMs", func(ctx context.Context, ms int) (struct{}, error) {
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return struct{}{}, nil
		case <-ctx.Done():
			return struct{}{}, ctx.Err()
		}
	})
	// pid returns the worker's process id.
	pid = mp.Register("conf.pid", func(_ context.Context, _ int) (int, error) { return os.Getpid(), nil })
	// identity returns its argument.
	identity = mp.Register("conf.identity", func(_ context.Context, x int) (int, error) { return x, nil })
	// acquireSem is test_threads_terminate's acquire_lock(sem).
	acquireSem = mp.Register("conf.acquireSem", func(ctx context.Context, s *mp.Semaphore) (struct{}, error) {
		return struct{}{}, s.Acquire(ctx)
	})
	// waitEvent is executor.submit(event.wait).
	waitEvent = mp.Register("conf.waitEvent", func(ctx context.Context, e *mp.Event) (int, error) {
		return 1, e.Wait(ctx)
	})
	// waitAndRaise is test_wait's wait_and_raise(e).
	waitAndRaise = mp.Register("conf.waitAndRaise", func(ctx context.Context, e *mp.Event) (int, error) {
		if err := e.Wait(ctx); err != nil {
			return 0, err
		}
		return 0, errors.New("this is an exception")
	})
	// initState and workerState are TestInitializers' _init/_test_initializer.
	initState   = mp.Register("conf.initState", func(_ context.Context, s string) (string, error) { return s, nil })
	workerState = mp.Register("conf.workerState", func(ctx context.Context, _ int) (string, error) {
		s, ok := mp.WorkerState[string](ctx)
		if !ok {
			return "", errors.New("no worker state")
		}
		return s, nil
	})
	// goodTask and failingTask are gh-132969's tasks.
	goodTask = mp.Register("conf.goodTask", func(_ context.Context, n int) (int, error) {
		time.Sleep(time.Duration(n) * 10 * time.Millisecond)
		return n, nil
	})
	failingTask = mp.Register("conf.failingTask", func(_ context.Context, _ int) (int, error) {
		return 0, valueError{"failing task"}
	})
)

type withFunc struct{ F func() int }

func ipow(x, y int) int {
	r := 1
	for range y {
		r *= x
	}
	return r
}

// Python's exception classes the tests raise.
type (
	keyError          struct{ msg string }
	valueError        struct{ msg string }
	runtimeError      struct{ msg string }
	zeroDivisionError struct{}
	// sayWhenError is what CPython's exception_throwing_generator raises.
	sayWhenError struct{}
)

func (e keyError) Error() string        { return "KeyError: " + e.msg }
func (e valueError) Error() string      { return "ValueError: " + e.msg }
func (e runtimeError) Error() string    { return "RuntimeError: " + e.msg }
func (zeroDivisionError) Error() string { return "ZeroDivisionError: division by zero" }
func (sayWhenError) Error() string      { return "SayWhenError: Somebody said when" }

// raised reports whether err is the error E a task returned, on a thread
// pool (the error itself, wrapped) or a process pool (a *mp.RemoteError
// naming its type).
func raised[E error](err error) bool {
	var e E
	if errors.As(err, &e) {
		return true
	}
	var re *mp.RemoteError
	return errors.As(err, &re) && re.Type == fmt.Sprintf("%T", e)
}

// sayWhen reports whether err is the input generator's sayWhenError (the
// error it panicked with, however mp wraps it).
func sayWhen(err error) bool {
	if errors.As(err, new(sayWhenError)) {
		return true
	}
	var pe *mp.PanicError
	if errors.As(err, &pe) {
		if e, ok := pe.Value.(error); ok {
			return errors.As(e, new(sayWhenError))
		}
	}
	return false
}

// exceptionThrowingGenerator is CPython's exception_throwing_generator(total,
// when): it yields 0..total-1 and raises (here: panics with sayWhenError) at
// item when; when == -1 raises before the first item.
func exceptionThrowingGenerator(total, when int) iter.Seq[int] {
	return func(yield func(int) bool) {
		if when == -1 {
			panic(sayWhenError{})
		}
		for i := range total {
			if i == when {
				panic(sayWhenError{})
			}
			if !yield(i) {
				return
			}
		}
	}
}

// seq yields 0..n-1.
func seq(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

// ints is range(n) as a slice.
func ints(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func squares(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i * i
	}
	return s
}
