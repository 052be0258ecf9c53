package mp

import (
	"context"
	"fmt"

	"github.com/mp-go/mp/internal/procpool"
)

// spares are the worker processes Prestart keeps ready for process pools.
var spares procpool.Spares

// Prestart keeps n worker processes started ahead of the process pools
// that will take them, for programs that start pools often and want each
// to start at once: what Python's "forkserver" start method is for. A
// spare worker is this program re-executed, like any worker process,
// that has run the program's start and package initialization up to
// mp.Main and waits; NewPool(Processes(k)) takes up to k of them, and a
// worker taken is ready in one round trip (its Initializer, if any,
// runs then) instead of a process start. Each spare taken is replaced in
// the background, so that the next pool finds n again.
//
// Prestart returns once n spares are ready, or with the error of a
// spare that failed to start (no more are started until Prestart is
// called again), or with ctx's cause (they go on starting). Calling it
// again changes n; Prestart(ctx, 0) ends the spares and returns once
// their processes have exited. Spares end with the program, as all
// worker processes do when their parent ends.
//
// A spare has the environment, arguments and working directory this
// program had when the spare started (os.Setenv or os.Chdir afterwards
// do not reach it), as a forkserver has its own. Pools take spares only when they are ready: a pool asking
// for more workers than are ready starts the rest itself.
func Prestart(ctx context.Context, n int) error {
	if n < 0 {
		return fmt.Errorf("%w: Prestart(%d): the number of spare workers cannot be negative", ErrInvalidOption, n)
	}
	stopIfNotServing("mp.Prestart")
	return spares.Keep(ctx, n, procpool.WorkerSpec(childEnv()))
}
