package server

import (
	"context"
	"slices"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// queueObj is a Queue: FIFO, bounded when max > 0, joinable.
type queueObj struct {
	base
	items      [][]byte
	head       int
	max        int
	unfinished int
	closed     bool
}

func (*queueObj) kind() string { return string(ops.KindQueue) }

func (q *queueObj) len() int { return len(q.items) - q.head }

func (q *queueObj) call(ctx context.Context, _ *conn, call *wire.Call, rep *wire.Reply) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch ops.QueueOp(call.Op) {
	case ops.QueuePut:
		for i, v := range call.Args {
			room := func() bool { return q.closed || q.max <= 0 || q.len() < q.max }
			if !call.Flag && !room() {
				if i == 0 {
					return ops.Errorf(ops.CodeFull, "manager: queue full")
				}
				break
			}
			if err := q.await(ctx, room); err != nil {
				if i > 0 {
					break // report what went in
				}
				return err
			}
			if q.closed {
				return ops.Errorf(ops.CodeClosed, "manager: queue closed")
			}
			q.items = append(q.items, v)
			q.unfinished++
			rep.N++
			q.changed()
		}
	case ops.QueueGet:
		avail := func() bool { return q.len() > 0 || q.closed }
		if call.Flag {
			if err := q.await(ctx, avail); err != nil {
				return err
			}
		}
		if q.len() == 0 {
			if q.closed {
				return ops.Errorf(ops.CodeClosed, "manager: queue closed")
			}
			return ops.Errorf(ops.CodeEmpty, "manager: queue empty")
		}
		n := int(max(1, min(call.N, int64(q.len()))))
		rep.Vals = slices.Clone(q.items[q.head : q.head+n])
		clear(q.items[q.head : q.head+n])
		q.head += n
		if q.head > 1024 && q.head > len(q.items)/2 {
			q.items = slices.Clone(q.items[q.head:])
			q.head = 0
		}
		q.changed()
	case ops.QueueQsize:
		rep.N = int64(q.len())
	case ops.QueueFull:
		rep.OK = q.max > 0 && q.len() >= q.max
	case ops.QueueTaskDone:
		n := int(max(1, call.N))
		if n > q.unfinished {
			return ops.Errorf(ops.CodeBadArgs, "manager: task_done called more times than items were put")
		}
		q.unfinished -= n
		q.changed()
	case ops.QueueJoin:
		return q.await(ctx, func() bool { return q.unfinished == 0 })
	case ops.QueueClose:
		q.closed = true
		q.changed()
	default:
		return unknownOp(q, call.Op)
	}
	return nil
}
