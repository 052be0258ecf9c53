// Package funcs lets packages of this module run a function registered
// with mp.Register by its name, without a public API for it: package mp
// sets Call when it initialises. The manager server uses it to run a
// Barrier's action.
package funcs

import "context"

// Call runs the function registered under name with arg, encoded as the
// function's argument type, and returns its result; ok is false when no
// such function is registered. Set by package mp.
var Call func(ctx context.Context, name string, arg []byte) (result any, ok bool, err error)
