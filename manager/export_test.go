package manager

import (
	"context"
	"sync"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// OpTable returns every operation of the table, as "kind.op".
func OpTable() []string {
	var out []string
	for _, row := range ops.Table {
		out = append(out, string(row.Kind)+"."+row.Op)
	}
	return out
}

// RecordOps makes m record the operations its proxies call (made after
// this call); the function returned lists them as "kind.op", the kind
// being the table's (an Array's operations are the List's).
func RecordOps(m *Manager) func() map[string]bool {
	r := &recorder{conn: m.c, kinds: map[uint64]string{}, seen: map[string]bool{}}
	m.c = r
	return func() map[string]bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		out := make(map[string]bool, len(r.seen))
		for k := range r.seen {
			out[k] = true
		}
		return out
	}
}

type recorder struct {
	conn
	mu    sync.Mutex
	kinds map[uint64]string
	seen  map[string]bool
}

func (r *recorder) call(ctx context.Context, call *wire.Call) (*wire.Reply, error) {
	op, kindName, obj := call.Op, call.Name, call.Obj
	rep, err := r.conn.call(ctx, call)
	r.mu.Lock()
	defer r.mu.Unlock()
	kind := ops.KindManager
	if obj != 0 {
		kind = ops.Kind(r.kinds[obj])
	}
	if row, ok := ops.Lookup(kind, op); ok {
		r.seen[string(row.Kind)+"."+row.Op] = true
	}
	if obj == 0 && op == string(ops.ManagerNew) && err == nil && rep != nil {
		r.kinds[uint64(rep.N)] = kindName
	}
	return rep, err
}
