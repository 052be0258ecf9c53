package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/mp-go/mp/internal/wire"
)

// Code is the kind of a failed call, as it travels in a reply
// (wire.CallError.Code). manager.CallError.Is maps each code to a
// sentinel error of package manager or mp.
type Code = string

// The error codes of a reply.
const (
	CodeUnknownObject Code = "unknown-object" // manager.ErrUnknown
	CodeUnknownOp     Code = "unknown-op"     // manager.ErrUnknown
	CodeUnknownType   Code = "unknown-type"   // manager.ErrUnknown
	CodeBadArgs       Code = "bad-args"       // manager.ErrBadRequest
	CodeExists        Code = "exists"         // manager.ErrBadRequest
	CodeEmpty         Code = "empty"          // mp.ErrEmpty
	CodeFull          Code = "full"           // mp.ErrFull
	CodeClosed        Code = "closed"         // mp.ErrQueueClosed
	CodeBroken        Code = "broken-barrier" // mp.ErrBrokenBarrier
	CodeOwnerDead     Code = "owner-dead"     // mp.ErrOwnerDead
	CodeNotOwner      Code = "not-owner"      // manager.ErrNotOwner
	CodeIndex         Code = "index"          // manager.ErrIndex
	CodeNoKey         Code = "no-key"         // manager.ErrNotFound
	CodeTooBig        Code = "too-big"        // manager.ErrTooBig
	CodeRemote        Code = "remote"         // no sentinel: the error of a registered function
	CodeCancelled     Code = "cancelled"      // no sentinel: the call's context ended on the server
	CodeBadRequest    Code = "bad-request"    // manager.ErrBadRequest
	CodeLimit         Code = "limit"          // manager.ErrLimit
)

// Error is a failed call, in a backend: its code travels to the client,
// which makes it a manager.CallError.
type Error struct {
	Code Code
	Msg  string
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error with code and the formatted message.
func Errorf(code Code, format string, a ...any) error {
	return &Error{code, fmt.Sprintf(format, a...)}
}

// ErrorReply is the reply to call id that failed with err: an *Error
// keeps its code; a context's error is CodeCancelled, any other
// CodeRemote.
func ErrorReply(id uint64, err error) *wire.Reply {
	var ce *Error
	if errors.As(err, &ce) {
		return &wire.Reply{ID: id, Err: &wire.CallError{Code: ce.Code, Msg: ce.Msg}}
	}
	code := CodeRemote
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code = CodeCancelled
	}
	return &wire.Reply{ID: id, Err: &wire.CallError{Code: code, Msg: err.Error()}}
}

// WantArgs checks that call has at least n values.
func WantArgs(call *wire.Call, n int) error {
	if len(call.Args) < n {
		return Errorf(CodeBadArgs, "manager: %s needs %d values, got %d", call.Op, n, len(call.Args))
	}
	return nil
}

// CheckNew checks the arguments of a "new" call, for every backend.
func CheckNew(call *wire.Call) error {
	switch Kind(call.Name) {
	case KindArray:
		if call.N < 0 || call.N > wire.MaxElements || len(call.Args) != 1 {
			return Errorf(CodeBadArgs, "manager: an Array of %d items", call.N)
		}
	case KindValue:
		if len(call.Args) != 1 {
			return Errorf(CodeBadArgs, "manager: a Value needs its initial value")
		}
	case KindQueue:
		if call.N < 0 {
			return Errorf(CodeBadArgs, "manager: a Queue of maxsize %d", call.N)
		}
	case KindSemaphore, KindBounded:
		if call.N < 0 {
			return Errorf(CodeBadArgs, "manager: a semaphore's value must not be negative, not %d", call.N)
		}
	case KindBarrier:
		if call.N < 1 || call.N >= 1<<31 {
			return Errorf(CodeBadArgs, "manager: a Barrier for %d parties", call.N)
		}
	}
	return nil
}

// ErrServerGone is manager.ErrServerGone (the same value, which the
// backends wrap): every call fails with it once the connection to the
// server, or to NATS, is lost.
var ErrServerGone = errors.New("manager: server gone")
