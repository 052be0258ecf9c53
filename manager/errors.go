package manager

import (
	"errors"
	"fmt"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager/internal/ops"
)

// Errors of proxy calls, besides those of package mp (mp.ErrEmpty and
// mp.ErrFull from a Queue's Nowait calls, mp.ErrQueueClosed,
// mp.ErrBrokenBarrier, mp.ErrOwnerDead) and the context's.
var (
	// ErrServerGone is the error of every call once the connection to the
	// server is lost: the server ended (Shutdown, killed, its parent
	// gone) or the connection was closed. Calls waiting at the time
	// return it at once.
	ErrServerGone = ops.ErrServerGone
	// ErrAuth is Connect's error for a wrong authkey.
	ErrAuth = errors.New("manager: authentication failed")
	// ErrIndex is the error for an index out of range (Python's
	// IndexError).
	ErrIndex = errors.New("manager: index out of range")
	// ErrNotFound is the error of List.Remove and List.Index for a value
	// not in the list (Python's ValueError) and of Namespace.Get for a
	// missing attribute (AttributeError).
	ErrNotFound = errors.New("manager: not found")
	// ErrNotOwner is the error for releasing a lock not held (by this
	// process, for a Lock's Condition; by this context, for an RLock).
	ErrNotOwner = errors.New("manager: lock not held")
	// ErrUnknown is the error for a type, method, update function or
	// operation the server does not know: only registered ones run.
	ErrUnknown = errors.New("manager: unknown")
	// ErrTooBig is the error for a call or reply above the message bound
	// (MaxMessage).
	ErrTooBig = errors.New("manager: message too big")
	// ErrBadRequest is the error for a malformed request, and for
	// arguments the server refuses.
	ErrBadRequest = errors.New("manager: bad request")
)

// CallError is a call the server refused or that failed there. It
// matches (errors.Is) the sentinel error of its kind, such as ErrIndex,
// mp.ErrEmpty or mp.ErrBrokenBarrier; Msg says exactly what went wrong.
type CallError struct {
	Code string // the kind of failure, as the server names it
	Msg  string
}

// Error returns the server's message.
func (e *CallError) Error() string { return e.Msg }

// Is matches the sentinel error of the failure's kind.
func (e *CallError) Is(target error) bool {
	switch e.Code {
	case ops.CodeEmpty:
		return target == mp.ErrEmpty
	case ops.CodeFull:
		return target == mp.ErrFull
	case ops.CodeClosed:
		return target == mp.ErrQueueClosed
	case ops.CodeBroken:
		return target == mp.ErrBrokenBarrier
	case ops.CodeOwnerDead:
		return target == mp.ErrOwnerDead
	case ops.CodeNotOwner:
		return target == ErrNotOwner
	case ops.CodeIndex:
		return target == ErrIndex
	case ops.CodeNoKey:
		return target == ErrNotFound
	case ops.CodeUnknownObject, ops.CodeUnknownOp, ops.CodeUnknownType:
		return target == ErrUnknown
	case ops.CodeTooBig:
		return target == ErrTooBig
	case ops.CodeBadArgs, ops.CodeBadRequest, ops.CodeExists:
		return target == ErrBadRequest
	case ops.CodeLimit:
		return target == ErrLimit
	}
	return false
}

// ErrLimit is the error of a call that would take the server past one of
// its Limits: an Array or a batch of too many items, too many calls
// waiting at once on one connection. The message names the limit and how
// to raise it.
var ErrLimit = errors.New("manager: server limit reached")

// errZero is the error of a call on a zero proxy.
var errZero = fmt.Errorf("%w: a zero proxy (make proxies with a Manager)", mp.ErrInvalidOption)
