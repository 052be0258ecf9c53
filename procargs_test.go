package mp_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// Plain numbers cross to a process pool's workers as their own memory,
// written straight into each worker's task ring (no copy into a buffer
// first): Tasks in the writer's buffer (a few items), written through
// (thousands), and Tasks bigger than the room behind a running one, kept
// aside whole until the worker is free (hundreds of thousands: the kept
// frame must be a copy, not a view of memory the caller may reuse once
// the call ends). Every result must be its own item's, the input
// untouched, and no worker replaced (a malformed Task kills the worker
// that reads it, and its items, never begun, would go to another).
func TestRawArgumentsOfEverySize(t *testing.T) {
	p, err := mp.NewPool(mp.Processes(2))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tc := range []struct{ n, chunk int }{
		{10, 1},
		{5_000, 1_000},
		{200_000, 25_000}, // 200 KB a Task: above the 192 KB queued behind a running one
	} {
		t.Run(fmt.Sprintf("%d_in_chunks_of_%d", tc.n, tc.chunk), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			in := make([]int, tc.n)
			for i := range in {
				in[i] = i - tc.n/2
			}
			for round := range 2 { // the second Map finds the first one's buffers
				// Tiny Tasks first: the workers' recent task time is then
				// short, so that the slots queue the big Tasks behind the
				// running ones (and keep aside those that do not fit).
				if _, err := mp.Map(ctx, p, square, make([]int, 2_000), mp.Chunksize(10)); err != nil {
					t.Fatal(err)
				}
				out, err := mp.Map(ctx, p, square, in, mp.Chunksize(tc.chunk))
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				if len(out) != tc.n {
					t.Fatalf("round %d: %d results for %d items", round, len(out), tc.n)
				}
				for i, v := range out {
					if x := i - tc.n/2; v != x*x || in[i] != x {
						t.Fatalf("round %d: item %d (input now %d, was %d) gave %d, want %d", round, i, in[i], x, v, x*x)
					}
				}
			}
			if r := p.Stats().Restarts; r != (mp.Restarts{}) {
				t.Fatalf("workers were replaced: %+v (a Task they could not read?)", r)
			}
		})
	}
}
