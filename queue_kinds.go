// JoinableQueue and SimpleQueue: the queue whose consumers say when an
// item is done, and the plain one; both are a Queue underneath.

package mp

import (
	"context"
	"errors"
)

// JoinableQueue is a Queue whose consumers say when they have finished
// each item (TaskDone), so that Join can wait for all of them (Python's
// multiprocessing.JoinableQueue).
type JoinableQueue[T any] struct {
	_ handle[*JoinableQueue[T]]
	Queue[T]
}

// NewJoinableQueue makes a joinable queue (see NewQueue).
func NewJoinableQueue[T any](maxsize int, opts ...QueueOption) (*JoinableQueue[T], error) {
	q, err := NewQueue[T](maxsize, opts...)
	if err != nil {
		return nil, err
	}
	return &JoinableQueue[T]{Queue: *q}, nil
}

// TaskDone says that an item got from the queue is finished. Calling it
// more often than items were put is an error (Python's ValueError).
func (q *JoinableQueue[T]) TaskDone() error {
	ok, err := q.r.Done()
	if err == nil && !ok {
		err = errors.New("mp: JoinableQueue.TaskDone called more times than items were put")
	}
	return err
}

// Join waits until every item put has been got and marked done, or ctx
// ends.
func (q *JoinableQueue[T]) Join(ctx context.Context) error { return q.r.Join(ctx) }

// SimpleQueue is an unbounded queue with only Put, Get, Empty and Close
// (Python's multiprocessing.SimpleQueue).
type SimpleQueue[T any] struct {
	_ handle[*SimpleQueue[T]]
	q *Queue[T]
}

// NewSimpleQueue makes a simple queue.
func NewSimpleQueue[T any](opts ...QueueOption) (*SimpleQueue[T], error) {
	q, err := NewQueue[T](0, opts...)
	if err != nil {
		return nil, err
	}
	return &SimpleQueue[T]{q: q}, nil
}

// Put adds v (see Queue.Put).
func (s *SimpleQueue[T]) Put(ctx context.Context, v T) error { return s.q.Put(ctx, v) }

// Get removes and returns the oldest item (see Queue.Get).
func (s *SimpleQueue[T]) Get(ctx context.Context) (T, error) { return s.q.Get(ctx) }

// Empty reports whether the queue holds no item.
func (s *SimpleQueue[T]) Empty() bool { return s.q.Empty() }

// Close closes the queue (see Queue.Close).
func (s *SimpleQueue[T]) Close() error { return s.q.Close() }

// Unlink removes the queue's segment (see SharedMemory.Unlink).
func (s *SimpleQueue[T]) Unlink() error { return s.q.Unlink() }

func (s *SimpleQueue[T]) encodeHandle() ([]byte, error) { return s.q.encodeHandle() }

func (s *SimpleQueue[T]) decodeHandle(b []byte) error {
	s.q = new(Queue[T])
	return s.q.decodeHandle(b)
}

// A JoinableQueue travels as its Queue.
func (q *JoinableQueue[T]) encodeHandle() ([]byte, error) { return q.Queue.encodeHandle() }

func (q *JoinableQueue[T]) decodeHandle(b []byte) error { return q.Queue.decodeHandle(b) }
