// Package registered holds what a manager's program registers by name, for
// both backends to run: types and their methods (manager.Register,
// manager.NewMethod), update functions (manager.NewUpdate, manager.Add)
// and orders (manager.NewOrder). Package manager fills the registries
// from its public API, at package level of the user's program, so that
// the server's process (the same program, started again) has the same
// ones; calls carry names, never code.
//
// Functions here take and return encoded values: the generic code that
// decodes them into the user's types stays in package manager.
package registered

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/mp-go/mp/internal/registry"
	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// UpdateFunc is a registered update function: it gets the encoded old
// value (found=false for a missing one) and the call's encoded argument,
// and returns the encoded new value.
type UpdateFunc func(ctx context.Context, old []byte, found bool, arg []byte) ([]byte, error)

// updates holds the update functions by name (UpdateFunc).
var updates sync.Map

// AddUpdate registers f under name; false means that name is taken.
func AddUpdate(name string, f UpdateFunc) bool {
	_, dup := updates.LoadOrStore(name, f)
	return !dup
}

// Apply runs the update function name on old; its failures are
// *ops.Error: CodeUnknownOp for a name not registered, CodeRemote for the
// function's own error.
func Apply(ctx context.Context, name string, old []byte, found bool, arg []byte) ([]byte, error) {
	u, ok := updates.Load(name)
	if !ok {
		return nil, ops.Errorf(ops.CodeUnknownOp, "manager: no update function %q is registered in the server's program", name)
	}
	nv, err := u.(UpdateFunc)(ctx, old, found, arg)
	if err != nil {
		return nil, ops.Errorf(ops.CodeRemote, "manager: update %s: %v", name, err)
	}
	return nv, nil
}

// MethodFunc is a registered method: it runs on v (a pointer to a value
// of the type) with the encoded argument, and returns the encoded result.
type MethodFunc func(ctx context.Context, v any, arg []byte) ([]byte, error)

// Type is a registered type.
type Type struct {
	// Name is the name it was registered under.
	Name string
	// Go is the Go type (T, of the values *T New makes).
	Go reflect.Type
	// New makes a new value: a *T.
	New func() any

	methods sync.Map // name → MethodFunc
}

// types holds the registered types by name (*Type).
var types sync.Map

// AddType registers t under t.Name; false means that the name is taken.
func AddType(t *Type) bool {
	_, dup := types.LoadOrStore(t.Name, t)
	return !dup
}

// LookupType returns the type registered under name.
func LookupType(name string) (*Type, bool) {
	t, ok := types.Load(name)
	if !ok {
		return nil, false
	}
	return t.(*Type), true
}

// AddMethod registers f as the method name of t; false means that the
// name is taken.
func (t *Type) AddMethod(name string, f MethodFunc) bool {
	_, dup := t.methods.LoadOrStore(name, f)
	return !dup
}

// Method returns the method name of t.
func (t *Type) Method(name string) (MethodFunc, bool) {
	m, ok := t.methods.Load(name)
	if !ok {
		return nil, false
	}
	return m.(MethodFunc), true
}

// MethodNames returns the names of t's methods, sorted.
func (t *Type) MethodNames() []string {
	var names []string
	t.methods.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
	sort.Strings(names)
	return names
}

// BarrierAction runs the function registered with mp.Register under
// name, a Barrier's action (Python's Barrier(action=…)), in this process;
// "" is no action. A panic in it is an error.
func BarrierAction(ctx context.Context, name string) (err error) {
	if name == "" {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	arg, _ := wire.Marshal(struct{}{})
	_, ok, err := registry.Call(ctx, name, arg)
	if !ok {
		return fmt.Errorf("no function %q is registered in the server's program", name)
	}
	return err
}
