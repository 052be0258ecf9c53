package mp

import (
	"context"
	"fmt"
	"sync"

	"github.com/mp-go/mp/internal/pacer"
	"github.com/mp-go/mp/internal/registry"
	"github.com/mp-go/mp/internal/wire"
)

// Func is a function that a pool can run: it takes an A and gives an R or an
// error. Make one with Register (runs on every backend, because a worker
// process finds it by name) or Fn (a closure, for goroutine pools only).
//
// The zero Func is not usable: calls given one fail with ErrInvalidOption.
type Func[A, R any] struct {
	name string
	fn   func(context.Context, A) (R, error)
	// tasks keeps the tasks of Apply calls run on a lent worker, done
	// with, for the next calls (Register's Funcs only): see Apply.
	tasks *sync.Pool
}

// Name returns the name the function was registered under, or "" for a
// function made with Fn.
func (f Func[A, R]) Name() string { return f.name }

// Registered reports whether f was made by Register, and so can run in a
// worker process.
func (f Func[A, R]) Registered() bool { return f.name != "" }

// IsZero reports whether f is the zero Func (no function at all).
func (f Func[A, R]) IsZero() bool { return f.fn == nil }

// Call runs f in the calling goroutine, as a plain function call.
func (f Func[A, R]) Call(ctx context.Context, a A) (R, error) { return f.fn(ctx, a) }

func (f Func[A, R]) check() error {
	if f.fn == nil {
		return fmt.Errorf("%w: zero Func (make it with mp.Register or mp.Fn)", ErrInvalidOption)
	}
	return nil
}

// entry is a registered function as a worker process runs it: encoded
// argument in, encoded result out (registry.Func).
type entry[A, R any] struct {
	name string
	fn   func(context.Context, A) (R, error)
}

var _ registry.Func = (*entry[int, int])(nil)

// Call decodes one argument and calls the function (initializers, a
// Barrier's or a manager's action).
func (e *entry[A, R]) Call(ctx context.Context, arg []byte) (any, error) {
	var a A
	if err := wire.Unmarshal(arg, &a); err != nil {
		return nil, fmt.Errorf("mp: decoding the argument of %s as %T: %w", e.name, a, err)
	}
	r, err := e.fn(ctx, a)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// RunBatch runs a Task's items, sending Results as it goes.
func (e *entry[A, R]) RunBatch(ctx context.Context, t *wire.Task, due *pacer.Due, send func(*wire.Results) error) (<-chan struct{}, error) {
	return runBatch(ctx, e.name, e.fn, t, due, send)
}

// Register names fn so that worker processes of this program can find and
// run it. Call it at package level (var square = mp.Register(...)) so that
// every process of the program registers the same names before mp.Main
// runs. Register panics if name is empty or already registered.
func Register[A, R any](name string, fn func(context.Context, A) (R, error)) Func[A, R] {
	if name == "" {
		panic("mp: Register with an empty name")
	}
	if fn == nil {
		panic("mp: Register " + name + " with a nil function")
	}
	if !registry.Add(name, &entry[A, R]{name: name, fn: fn}) {
		panic("mp: Register called twice for " + name)
	}
	return Func[A, R]{name: name, fn: fn, tasks: new(sync.Pool)}
}

// Fn wraps a closure as a Func. It runs only on goroutine pools
// (Threads): a process pool refuses it with an error that says to use
// Register instead, because a closure cannot travel to another process.
func Fn[A, R any](fn func(context.Context, A) (R, error)) Func[A, R] {
	return Func[A, R]{fn: fn}
}

// Plain adapts a func(A) R, which cannot fail and ignores cancellation, to
// the signature Register and Fn take:
//
//	var square = mp.Register("square", mp.Plain(func(x int) int { return x * x }))
func Plain[A, R any](fn func(A) R) func(context.Context, A) (R, error) {
	return func(_ context.Context, a A) (R, error) { return fn(a), nil }
}

// PlainErr adapts a func(A) (R, error) that takes no context.
func PlainErr[A, R any](fn func(A) (R, error)) func(context.Context, A) (R, error) {
	return func(_ context.Context, a A) (R, error) { return fn(a) }
}

// Args2 holds the two arguments of a Starmap task (Python's tuple in
// pool.starmap(f, [(a, b), ...])).
type Args2[T1, T2 any] struct {
	A1 T1
	A2 T2
}

// Args3 holds the three arguments of a Starmap task.
type Args3[T1, T2, T3 any] struct {
	A1 T1
	A2 T2
	A3 T3
}

// Fn2 wraps a two-argument closure as a Func over Args2, for Starmap.
func Fn2[T1, T2, R any](fn func(context.Context, T1, T2) (R, error)) Func[Args2[T1, T2], R] {
	return Fn(spread2(fn))
}

// Register2 registers a two-argument function as a Func over Args2.
func Register2[T1, T2, R any](name string, fn func(context.Context, T1, T2) (R, error)) Func[Args2[T1, T2], R] {
	return Register(name, spread2(fn))
}

// Fn3 wraps a three-argument closure as a Func over Args3, for Starmap.
func Fn3[T1, T2, T3, R any](fn func(context.Context, T1, T2, T3) (R, error)) Func[Args3[T1, T2, T3], R] {
	return Fn(spread3(fn))
}

// Register3 registers a three-argument function as a Func over Args3.
func Register3[T1, T2, T3, R any](name string, fn func(context.Context, T1, T2, T3) (R, error)) Func[Args3[T1, T2, T3], R] {
	return Register(name, spread3(fn))
}

func spread2[T1, T2, R any](fn func(context.Context, T1, T2) (R, error)) func(context.Context, Args2[T1, T2]) (R, error) {
	return func(ctx context.Context, a Args2[T1, T2]) (R, error) { return fn(ctx, a.A1, a.A2) }
}

func spread3[T1, T2, T3, R any](fn func(context.Context, T1, T2, T3) (R, error)) func(context.Context, Args3[T1, T2, T3]) (R, error) {
	return func(ctx context.Context, a Args3[T1, T2, T3]) (R, error) { return fn(ctx, a.A1, a.A2, a.A3) }
}
