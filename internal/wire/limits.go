package wire

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// Limits on encoded values. Bytes from another process are never trusted
// to be small or shallow, and a value is checked against the same limits
// before it is sent, so that nothing accepted by a sender (Queue.Put,
// Conn.Send, Submit, Process.Start) is refused by its receiver.
const (
	// DefaultMaxDepth is the nesting limit unless MP_MAX_DEPTH says
	// otherwise: Python's pickle handles about as deep.
	DefaultMaxDepth = 1000
	// MinMaxDepth and MaxMaxDepth bound what MP_MAX_DEPTH may ask for.
	MinMaxDepth = 16
	MaxMaxDepth = 65534 // one less than the CBOR library's bound, for the array around MarshalSlice's items
	// MaxElements bounds the elements of one array or map.
	MaxElements = 1 << 24
)

// DepthEnv is the environment variable that sets the nesting limit. It is
// read once, on the first encoding or decoding; child processes inherit it
// with the rest of the environment, so that every process of a program
// uses the same limit.
const DepthEnv = "MP_MAX_DEPTH"

type limits struct {
	depth int
	err   error        // MP_MAX_DEPTH was not a number in range; depth is then the default
	dec   cbor.DecMode // values
	// decSlice decodes values sent as one array (MarshalSlice): one
	// level more, for the array.
	decSlice cbor.DecMode
}

var theLimits = sync.OnceValue(func() *limits {
	depth, err := parseDepth(os.Getenv(DepthEnv))
	l := &limits{depth: depth, err: err}
	if err != nil {
		slog.Warn("mp: ignoring a bad nesting limit", "err", err)
	}
	l.dec, l.decSlice = decMode(l.depth), decMode(l.depth+1)
	return l
})

// parseDepth reads a value of MP_MAX_DEPTH ("": the default). A value
// that is not a number in range gives the default and an error.
func parseDepth(s string) (int, error) {
	if s == "" {
		return DefaultMaxDepth, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return DefaultMaxDepth, fmt.Errorf("%s=%q is not a number: using %d", DepthEnv, s, DefaultMaxDepth)
	}
	if n < MinMaxDepth || n > MaxMaxDepth {
		return DefaultMaxDepth, fmt.Errorf("%s=%d is outside %d..%d: using %d", DepthEnv, n, MinMaxDepth, MaxMaxDepth, DefaultMaxDepth)
	}
	return n, nil
}

func decMode(depth int) cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  depth,
		MaxArrayElements: MaxElements,
		MaxMapPairs:      MaxElements,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
	}.DecMode()
	if err != nil {
		panic(err) // the options are in range
	}
	return dm
}

// MaxDepth returns the nesting limit of encoded values: arrays, maps and
// structs inside one another (pointers and interfaces do not count).
// It is DefaultMaxDepth unless the environment variable MP_MAX_DEPTH
// sets another, from MinMaxDepth to MaxMaxDepth.
func MaxDepth() int { return theLimits().depth }

// LimitsErr reports a value of MP_MAX_DEPTH that was not used, or nil.
func LimitsErr() error { return theLimits().err }
