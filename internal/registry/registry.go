// Package registry maps the names given to mp.Register to the functions
// they name, as a worker process runs them: encoded arguments in, encoded
// results out. Package mp adds to it (mp.Register, at package level, so
// that every process of a program has the same names); the worker side
// (internal/worker), the cluster's workers and the manager's server look
// functions up in it. It also holds the cluster backend, which package
// cluster adds when it is linked in (see cluster.go).
//
// It replaces two packages of function variables set at start-up
// (internal/funcs, internal/remote): what is registered here are values
// of small interfaces, found by name, as database/sql finds its drivers.
package registry

import (
	"context"
	"slices"
	"sync"

	"github.com/mp-go/mp/internal/pacer"
	"github.com/mp-go/mp/internal/wire"
)

// Func is a registered function as a worker process runs it.
type Func interface {
	// Call decodes arg as the function's argument and calls it, for an
	// initializer or a Barrier's action.
	Call(ctx context.Context, arg []byte) (any, error)
	// RunBatch runs the items of t, sending their Results as it goes: a
	// batch at least whenever due says so, and after every item when t is
	// Careful. It returns the first error of send. When t has a Timeout
	// and its last item was reported timed out at its deadline, late is
	// closed when that item's function returns at last: the caller runs
	// nothing else before (one item at a time, even one that ignores its
	// ctx), but may pass the Results on.
	RunBatch(ctx context.Context, t *wire.Task, due *pacer.Due, send func(*wire.Results) error) (late <-chan struct{}, err error)
}

// funcs maps a name to its Func.
var funcs sync.Map

// Add registers f under name; it reports false, registering nothing, if
// the name is taken.
func Add(name string, f Func) bool {
	_, dup := funcs.LoadOrStore(name, f)
	return !dup
}

// Lookup returns the function registered under name.
func Lookup(name string) (Func, bool) {
	v, ok := funcs.Load(name)
	if !ok {
		return nil, false
	}
	return v.(Func), true
}

// Names returns the registered names, sorted: what a worker process
// announces in its Hello.
func Names() []string {
	var names []string
	funcs.Range(func(k, _ any) bool {
		names = append(names, k.(string))
		return true
	})
	slices.Sort(names)
	return names
}

// Call runs the function registered under name with arg, encoded as the
// function's argument type, and returns its result; ok is false when no
// such function is registered.
func Call(ctx context.Context, name string, arg []byte) (result any, ok bool, err error) {
	f, ok := Lookup(name)
	if !ok {
		return nil, false, nil
	}
	r, err := f.Call(ctx, arg)
	return r, true, err
}
