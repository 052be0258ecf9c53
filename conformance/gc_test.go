//go:build linux

package conformance

import (
	"context"
	"runtime"
	"sync/atomic"

	"github.com/mp-go/mp"
)

// gcNow runs the collector, for the tests that check what a pool keeps
// alive (CPython's weakref checks).
func gcNow() { runtime.GC() }

// trackRelease sets released up by one once obj is collected.
func trackRelease[T any](obj *T, released *atomic.Int32) {
	runtime.AddCleanup(obj, func(r *atomic.Int32) { r.Add(1) }, released)
}

// myObject is larger than 16 bytes: smaller pointer-free objects share a
// memory block with others (Go's tiny allocator), and a cleanup on one of
// them may never run, or AddCleanup panics, when the block also holds
// what the cleanup uses; which happens depends on the binary's layout.
type myObject struct {
	n int
	_ [16]byte
}

// submitAndForget submits a task holding a new object and drops the
// future; the flag it returns is set once the object is collected.
func submitAndForget(ctx context.Context, p *mp.Pool) *atomic.Bool {
	var collected atomic.Bool
	obj := &myObject{n: 1}
	runtime.AddCleanup(obj, func(c *atomic.Bool) { c.Store(true) }, &collected)
	mp.Submit(ctx, p, myMethod, obj)
	return &collected
}

var myMethod = mp.Register("conf.myMethod", func(_ context.Context, o *myObject) (int, error) { return o.n, nil })
