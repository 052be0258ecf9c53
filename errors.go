package mp

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/mp-go/mp/internal/procpool"
)

// Sentinel errors. Test for them with errors.Is; the errors mp returns wrap
// them with the details of what happened.
var (
	// ErrClosed is returned for work given to a pool after Close or
	// Terminate, and for tasks still queued when Terminate is called.
	ErrClosed = errors.New("mp: pool closed")
	// ErrBrokenPool means the pool can no longer run tasks: a worker
	// initializer failed, or (on process pools) workers keep dying.
	ErrBrokenPool = errors.New("mp: broken pool")
	// ErrTimeout is the error of a task that ran longer than its Timeout.
	ErrTimeout = errors.New("mp: task timed out")
	// ErrCancelled is the error of a Future cancelled before its task ran.
	ErrCancelled = errors.New("mp: future cancelled")
	// ErrInvalidOption wraps every error about a bad option value or an
	// option given where it does not apply.
	ErrInvalidOption = errors.New("mp: invalid option")
	// ErrOutOfMemory is wrapped by a *WorkerError whose worker ran out of
	// memory: the Go runtime's "fatal error: out of memory" (an
	// allocation the system refused, as under ulimit -v), or the kernel's
	// OOM killer (counted in the worker's memory cgroup). The message
	// names the limit when it is known.
	ErrOutOfMemory = procpool.ErrOutOfMemory
)

// TaskError is the error of one task: Index is the task's position in the
// call's input (0 for Submit and Apply), Err what the task returned.
type TaskError struct {
	Index int
	Err   error
}

// Error names the task and its error.
func (e *TaskError) Error() string { return fmt.Sprintf("mp: task %d: %v", e.Index, e.Err) }

// Unwrap returns the task's own error.
func (e *TaskError) Unwrap() error { return e.Err }

// PanicError is a task's panic turned into an error. Value is what was
// passed to panic and Stack the goroutine's stack where it happened.
// The worker that ran the task keeps working.
type PanicError struct {
	Value any
	Stack []byte
}

func newPanicError(v any) *PanicError { return &PanicError{Value: v, Stack: debug.Stack()} }

// Error gives the panic value and the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error, so that
// errors.Is(err, io.EOF) sees through panic(io.EOF).
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// RemoteError is an error returned, or a panic raised, by a task in a
// worker process. Only its text, type name and stack cross the process
// boundary: compare with errors.As and the fields, not errors.Is.
type RemoteError struct {
	PID   int    // the worker process
	Msg   string // the error's text or the panic value
	Type  string // the Go type of the error or panic value, such as "*fs.PathError"
	Stack string // the worker's stack, for a panic
	Panic bool
}

// Error gives the message, and for a panic the worker and its stack.
func (e *RemoteError) Error() string {
	if e.Panic {
		return fmt.Sprintf("panic in worker process %d: %s\n\n%s", e.PID, e.Msg, e.Stack)
	}
	return e.Msg
}

// WorkerError says that a worker process ended while it ran a task: it was
// killed (by a signal, by Timeout, by cancellation, by the kernel's OOM
// killer) or it exited. It unwraps to ErrBrokenPool, to ErrTimeout when
// Timeout killed it, and to ErrOutOfMemory when it ran out of memory (the
// message then says "out of memory" and names the limit: the memory
// cgroup's, ulimit -v, GOMEMLIMIT). The pool replaces the worker and goes
// on.
type WorkerError struct {
	PID      int
	ExitCode int    // -1 when a signal ended it
	Signal   string // "killed", "segmentation fault", ... or ""
	Reason   error  // ErrTimeout, the call's cancellation cause, an error wrapping ErrOutOfMemory, or nil
}

// Error names the worker, how it ended and why.
func (e *WorkerError) Error() string {
	how := fmt.Sprintf("exited with status %d", e.ExitCode)
	if e.Signal != "" {
		how = "killed by signal " + e.Signal
	}
	s := fmt.Sprintf("mp: worker process %d %s while running the task", e.PID, how)
	if e.Reason != nil {
		s += " (" + e.Reason.Error() + ")"
	}
	return s
}

// Unwrap gives ErrBrokenPool and the reason, if any.
func (e *WorkerError) Unwrap() []error {
	if e.Reason != nil {
		return []error{ErrBrokenPool, e.Reason}
	}
	return []error{ErrBrokenPool}
}
