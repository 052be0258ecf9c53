package server

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/registered"
)

// object is a shared object held by the server. Values inside it are kept
// as the clients encoded them: the server decodes them only to run an
// update function or a registered type's method.
type object interface {
	kind() string
	call(ctx context.Context, c *conn, call *wire.Call, rep *wire.Reply) error
}

// newObject makes the object a "new" call asks for.
func newObject(s *Server, call *wire.Call) (object, error) {
	if err := ops.CheckNew(call); err != nil {
		return nil, err
	}
	switch ops.Kind(call.Name) {
	case ops.KindDict:
		return &dictObj{m: newOmap()}, nil
	case ops.KindNamespace:
		return &namespaceObj{m: newOmap()}, nil
	case ops.KindList:
		return &listObj{items: slices.Clone(call.Args)}, nil
	case ops.KindArray:
		items := make([][]byte, call.N)
		for i := range items {
			items[i] = call.Args[0]
		}
		return &listObj{items: items, fixed: true}, nil
	case ops.KindValue:
		return &valueObj{v: call.Args[0]}, nil
	case ops.KindQueue:
		return &queueObj{max: int(call.N)}, nil
	case ops.KindLock:
		return &lockObj{}, nil
	case ops.KindRLock:
		return &rlockObj{}, nil
	case ops.KindSemaphore, ops.KindBounded:
		return &semObj{value: int(call.N), initial: int(call.N), bounded: call.Name == string(ops.KindBounded)}, nil
	case ops.KindEvent:
		return &eventObj{}, nil
	case ops.KindCondition:
		l, ok := s.object(uint64(call.M)).(*lockObj)
		if !ok {
			return nil, ops.Errorf(ops.CodeBadArgs, "manager: a Condition's lock must be a Lock of the same manager")
		}
		return &condObj{lock: l}, nil
	case ops.KindBarrier:
		b := &barrierObj{parties: int(call.N)}
		if len(call.Args) == 1 {
			b.action = string(call.Args[0])
		}
		return b, nil
	}
	if name, ok := strings.CutPrefix(call.Name, ops.KindTypePrefix); ok {
		t, ok := registered.LookupType(name)
		if !ok {
			return nil, ops.Errorf(ops.CodeUnknownType, "manager: no type %q is registered in the server's program (manager.Register at package level?)", name)
		}
		return &customObj{t: t, v: t.New()}, nil
	}
	return nil, ops.Errorf(ops.CodeUnknownType, "manager: no kind of object %q", call.Name)
}

// base is what every object has: a mutex, and a channel closed (and
// renewed) when the object changes, for the calls that wait on it.
type base struct {
	mu sync.Mutex
	ch chan struct{}
}

// changed wakes the calls waiting on the object; mu is held.
func (b *base) changed() {
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// await returns once try returns true, or with ctx's error; mu is held on
// entry and on return. try is called with mu held; it may change the
// object (take an item, a lock).
func (b *base) await(ctx context.Context, try func() bool) error {
	for !try() {
		if b.ch == nil {
			b.ch = make(chan struct{})
		}
		ch := b.ch
		b.mu.Unlock()
		select {
		case <-ch:
			b.mu.Lock()
		case <-ctx.Done():
			b.mu.Lock()
			if try() {
				return nil
			}
			return ctx.Err()
		}
	}
	return nil
}

func unknownOp(o object, op string) error {
	return ops.Errorf(ops.CodeUnknownOp, "manager: a %s has no operation %q", o.kind(), op)
}

// customObj is a value of a type registered with Register; calls to its
// methods are serialised.
type customObj struct {
	base
	t *registered.Type
	v any
}

func (o *customObj) kind() string { return ops.KindTypePrefix + o.t.Name }

func (o *customObj) call(ctx context.Context, _ *conn, call *wire.Call, rep *wire.Reply) error {
	if ops.TypeOp(call.Op) != ops.TypeCall {
		return unknownOp(o, call.Op)
	}
	m, ok := o.t.Method(call.Name)
	if !ok {
		names := o.t.MethodNames()
		return ops.Errorf(ops.CodeUnknownOp, "manager: type %s has no registered method %q (registered: %s)", o.t.Name, call.Name, strings.Join(names, ", "))
	}
	if err := ops.WantArgs(call, 1); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	r, err := m(ctx, o.v, call.Args[0])
	if err != nil {
		return err
	}
	rep.Vals = [][]byte{r}
	return nil
}
