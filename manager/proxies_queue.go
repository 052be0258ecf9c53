package manager

import (
	"context"
	"fmt"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// Queue is a proxy of a FIFO queue held by a manager's server (Python's
// Manager().Queue(), which is also joinable: TaskDone and Join).
type Queue[T any] struct {
	_ mark[*Queue[T]]
	proxy
}

// NewQueue makes a queue on m's server; maxsize > 0 bounds it.
func NewQueue[T any](ctx context.Context, m *Manager, maxsize int, opts ...ObjectOption) (*Queue[T], error) {
	p, err := m.create(ctx, &wire.Call{Name: string(ops.KindQueue), N: int64(maxsize)}, opts)
	if err != nil {
		return nil, err
	}
	return &Queue[T]{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (q *Queue[T]) encodeHandle() ([]byte, error) { return q.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (q *Queue[T]) decodeHandle(b []byte) error { return q.unmarshal(b, string(ops.KindQueue)) }

// Put adds v, waiting for room in a bounded queue until ctx ends.
func (q *Queue[T]) Put(ctx context.Context, v T) error { return q.put(ctx, []T{v}, true) }

// PutNowait adds v, or returns an error wrapping mp.ErrFull.
func (q *Queue[T]) PutNowait(ctx context.Context, v T) error { return q.put(ctx, []T{v}, false) }

// PutMany adds vals in order, in one round trip (above the server's
// Limits.Items, sent in parts first), waiting for room as Put does.
func (q *Queue[T]) PutMany(ctx context.Context, vals []T) error { return q.put(ctx, vals, true) }

func (q *Queue[T]) put(ctx context.Context, vals []T, wait bool) error {
	args, err := encodeSlice(vals)
	if err != nil {
		return err
	}
	rep, err := q.do(ctx, &wire.Call{Op: string(ops.QueuePut), Args: args, Flag: wait})
	if err == nil && int(rep.N) < len(vals) {
		err = fmt.Errorf("manager: %d of %d items put: %w", rep.N, len(vals), ctx.Err())
	}
	return err
}

// Get removes and returns the first item, waiting for one until ctx ends.
// A closed, drained queue returns an error wrapping mp.ErrQueueClosed.
func (q *Queue[T]) Get(ctx context.Context) (T, error) { return q.get1(ctx, true) }

// GetNowait removes and returns the first item, or returns an error
// wrapping mp.ErrEmpty.
func (q *Queue[T]) GetNowait(ctx context.Context) (T, error) { return q.get1(ctx, false) }

func (q *Queue[T]) get1(ctx context.Context, wait bool) (T, error) {
	rep, err := q.do(ctx, &wire.Call{Op: string(ops.QueueGet), N: 1, Flag: wait})
	if err != nil {
		var zero T
		return zero, err
	}
	return one[T](rep)
}

// GetMany removes and returns up to max items, in one round trip, waiting
// until there is at least one.
func (q *Queue[T]) GetMany(ctx context.Context, max int) ([]T, error) {
	rep, err := q.do(ctx, &wire.Call{Op: string(ops.QueueGet), N: int64(max), Flag: true})
	if err != nil {
		return nil, err
	}
	return decodeAll[T](rep.Vals)
}

// Qsize returns the number of items in the queue.
func (q *Queue[T]) Qsize(ctx context.Context) (int, error) {
	rep, err := q.do(ctx, &wire.Call{Op: string(ops.QueueQsize)})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Empty reports whether the queue is empty.
func (q *Queue[T]) Empty(ctx context.Context) (bool, error) {
	n, err := q.Qsize(ctx)
	return n == 0, err
}

// Full reports whether a bounded queue is full.
func (q *Queue[T]) Full(ctx context.Context) (bool, error) {
	rep, err := q.do(ctx, &wire.Call{Op: string(ops.QueueFull)})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// TaskDone says that an item got from the queue has been processed
// (Python's task_done); more calls than items put is an error.
func (q *Queue[T]) TaskDone(ctx context.Context) error {
	_, err := q.do(ctx, &wire.Call{Op: string(ops.QueueTaskDone), N: 1})
	return err
}

// Join waits until every item put has been marked done with TaskDone.
func (q *Queue[T]) Join(ctx context.Context) error {
	_, err := q.do(ctx, &wire.Call{Op: string(ops.QueueJoin)})
	return err
}

// Close closes the queue for every process: Put then fails with
// mp.ErrQueueClosed, and Get does once the queue is drained (Python
// 3.13's shutdown()).
func (q *Queue[T]) Close(ctx context.Context) error {
	_, err := q.do(ctx, &wire.Call{Op: string(ops.QueueClose)})
	return err
}
