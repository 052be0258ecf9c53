package mp

import (
	"fmt"
	"slices"

	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// ErrEncoding is wrapped by every error about a value that cannot cross
// a process boundary (Python's PicklingError and MaybeEncodingError): an
// argument, a result, or an item put in a Queue or sent on a Conn that
// holds a function, a channel, a pointer cycle, or is nested deeper than
// the limit (1,000 levels; the environment variable MP_MAX_DEPTH sets
// another). The value is refused where it is given: nothing is sent.
// Test for it with errors.Is; the error itself, an *EncodeError or a
// *RemoteError from a worker, names the value's type and the path inside
// it to the part that cannot be encoded.
var ErrEncoding = wire.ErrEncode

// EncodeError says why a value cannot be encoded, and where inside it:
// Type is the value's type, Path the way to the part (".Items[2].Handler",
// "" for the value itself), Part that part's type, Reason why and how to
// fix it. It wraps ErrEncoding.
type EncodeError = wire.EncodeError

// encodeErrorType is the RemoteError.Type of a result that a worker
// process could not encode.
const encodeErrorType = wk.EncodeErrorType

// Is reports whether target is ErrEncoding and e a result that its worker
// process could not encode, or target is ErrTimeout and e an item that
// ran past its Timeout on a cluster worker, so that errors.Is holds for
// those too.
func (e *RemoteError) Is(target error) bool {
	return target == ErrEncoding && e.Type == encodeErrorType ||
		target == ErrTimeout && e.Type == wk.TimeoutErrorType
}

// maxResultBytes bounds the encoded results and errors of one Results
// frame, below the frame bound with room for the rest of the message.
const maxResultBytes = wire.DefaultMaxFrame - 64<<10

// maxArgBytes bounds the encoded arguments of one Task frame.
const maxArgBytes = wire.DefaultMaxFrame - 64<<10

// encodeArgs encodes items from the first on as one array of at most max
// bytes: as many as fit, stopping before the first that cannot be
// encoded, whose error it returns with their count. If the first cannot
// be encoded, or alone takes more than max bytes, the count is 0 and the
// error says why.
func encodeArgs[A any](items []A, max int) ([]byte, int, error) {
	data, err := wire.MarshalSlice(items)
	if err == nil && len(data) <= max {
		return data, len(items), nil
	}
	if err != nil {
		// the items before the first that cannot be encoded
		for i := range items {
			if _, e := wire.Marshal(items[i]); e != nil {
				if i == 0 {
					return nil, 0, e
				}
				data, n, err2 := encodeArgs(items[:i], max)
				if n < i {
					return data, n, err2 // too big: the rest in another Task
				}
				return data, n, e
			}
		}
		return nil, 0, err
	}
	if len(items) == 1 {
		return nil, 0, fmt.Errorf("%w: the argument takes %d bytes, more than the %d a message to a worker process may carry: pass something smaller (a path to a file, an mp.SharedMemory)", ErrEncoding, len(data), max)
	}
	return encodeArgs(items[:len(items)/2], max) // the rest in another Task
}

// encodeResults encodes the results out of items from on of task id, and
// their errors errs (indexed in the task), as Results frames of at most
// max bytes of values and errors each. A result that cannot be encoded,
// or that alone takes more than max bytes, fails its item: nothing a task
// returns can make its worker fail.
func encodeResults[R any](name string, id uint64, from int, out []R, errs []wire.ItemError, max int) []*wire.Results {
	vals, bad := wire.MarshalEach(out)
	if bad != nil {
		errs = resultErrors(name, from, errs, bad)
	}
	size := len(vals)
	for _, e := range errs {
		size += len(e.Err.Msg) + len(e.Err.Type) + len(e.Err.Stack) + 16
	}
	if size <= max {
		return []*wire.Results{{ID: id, From: from, N: len(out), Values: vals, Errs: errs}}
	}
	if len(out) > 1 {
		half := len(out) / 2
		i := slices.IndexFunc(errs, func(e wire.ItemError) bool { return e.Index >= from+half })
		if i < 0 {
			i = len(errs)
		}
		return append(encodeResults(name, id, from, out[:half], errs[:i:i], max), encodeResults(name, id, from+half, out[half:], errs[i:], max)...)
	}
	// one item, too big: its error alone (cut short if it is the error)
	e := wire.Error{Msg: fmt.Sprintf("mp: cannot send the result of %s: it takes %d bytes, more than the %d a message from a worker process may carry: return less (a path to a file, shared memory), or split the work", name, len(vals), max), Type: encodeErrorType}
	if len(errs) > 0 {
		e = errs[0].Err
		e.Msg, e.Stack = cut(e.Msg, max/2), cut(e.Stack, max/4)
	}
	vals, _ = wire.MarshalEach([]any{nil})
	return []*wire.Results{{ID: id, From: from, N: 1, Values: vals, Errs: []wire.ItemError{{Index: from, Err: e}}}}
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// resultErrors adds to errs, the errors of items from on of a Results, the
// results (by index from from) that could not be encoded, unless the
// item failed anyway; it returns them sorted by index.
func resultErrors(name string, from int, errs []wire.ItemError, bad map[int]error) []wire.ItemError {
	failed := make(map[int]bool, len(errs))
	for _, e := range errs {
		failed[e.Index] = true
	}
	for i, err := range bad {
		if !failed[from+i] {
			errs = append(errs, wire.ItemError{Index: from + i, Err: wire.Error{Msg: fmt.Sprintf("mp: cannot send the result of %s: %v", name, err), Type: encodeErrorType}})
		}
	}
	slices.SortFunc(errs, func(a, b wire.ItemError) int { return a.Index - b.Index })
	return errs
}
