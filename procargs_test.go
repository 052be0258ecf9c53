package mp_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

// particle is plain data: it crosses to workers and back as its memory
// (wire's rawPlain), not as CBOR.
type particle struct {
	Pos, Vel [3]float32
	ID       uint32
	Charge   int8
}

// step moves a particle one step; a particle with ID 13 fails, so that
// errors and plain results travel in the same Task.
var step = mp.Register("test.step", func(_ context.Context, p particle) (particle, error) {
	if p.ID == 13 {
		return particle{}, fmt.Errorf("particle %d is unlucky", p.ID)
	}
	for i := range p.Pos {
		p.Pos[i] += p.Vel[i]
	}
	p.Charge = -p.Charge
	return p, nil
})

func stepped(p particle) particle {
	for i := range p.Pos {
		p.Pos[i] += p.Vel[i]
	}
	p.Charge = -p.Charge
	return p
}

// Structs of numbers (issue 15: plain data crosses as bytes) reach the
// workers and come back whole, chunked, one a Task, through Apply, with an
// item failing among them (its batch carries an error beside plain
// values) and with a Timeout (the stage keeps each item's value as an
// entry).
func TestPlainStructsCrossWhole(t *testing.T) {
	p, ctx := poolForAMinute(t)
	in := make([]particle, 3_000)
	for i := range in {
		f := float32(i)
		in[i] = particle{Pos: [3]float32{f, -f, f / 2}, Vel: [3]float32{1, 2, 3}, ID: uint32(i + 100), Charge: int8(i%7 - 3)}
	}
	for _, opts := range [][]mp.Option{{mp.Chunksize(500)}, {mp.Chunksize(1)}, {mp.Chunksize(100), mp.Timeout(time.Minute)}} {
		out, err := mp.Map(ctx, p, step, in, opts...)
		if err != nil {
			t.Fatal(err)
		}
		for i := range in {
			if out[i] != stepped(in[i]) {
				t.Fatalf("item %d came back as %+v, want %+v", i, out[i], stepped(in[i]))
			}
		}
	}
	got, err := mp.Apply(ctx, p, step, in[7])
	if err != nil || got != stepped(in[7]) {
		t.Fatalf("Apply: %+v, %v; want %+v", got, err, stepped(in[7]))
	}
	bad := append([]particle(nil), in[:50]...)
	bad[20].ID = 13
	var out []particle
	for r, err := range mp.Imap(ctx, p, step, slices.Values(bad), mp.Chunksize(50)) {
		if len(out) == 20 {
			if err == nil || !strings.Contains(err.Error(), "unlucky") {
				t.Fatalf("item 20: %+v, %v; want its error", r, err)
			}
		} else if err != nil || r != stepped(bad[len(out)]) {
			t.Fatalf("item %d: %+v, %v; want %+v", len(out), r, err, stepped(bad[len(out)]))
		}
		out = append(out, r)
	}
	if len(out) != 21 { // Imap ends at the first error, as Python's does
		t.Fatalf("%d results for the 21 items up to the one that failed", len(out))
	}
	if r := p.Stats().Restarts; r != (mp.Restarts{}) {
		t.Fatalf("workers were replaced: %+v", r)
	}
}

// scale doubles a vector's elements; a nil vector comes back nil.
var scale = mp.Register("test.scale", mp.Plain(func(v []float64) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = 2 * x
	}
	return out
}))

// Vectors of numbers (issue 15: slices of plain data cross as bytes) go
// to the workers and back whole, nil and empty ones kept apart, in
// chunks and one a Task.
func TestPlainVectorsCrossWhole(t *testing.T) {
	p, ctx := poolForAMinute(t)
	in := make([][]float64, 300)
	for i := range in {
		switch i % 10 {
		case 3:
			in[i] = nil
		case 4:
			in[i] = []float64{}
		default:
			in[i] = make([]float64, i)
			for j := range in[i] {
				in[i][j] = float64(i*j) + 0.5
			}
		}
	}
	for _, cs := range []int{50, 1} {
		out, err := mp.Map(ctx, p, scale, in, mp.Chunksize(cs))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range in {
			if (v == nil) != (out[i] == nil) || len(v) != len(out[i]) {
				t.Fatalf("chunks of %d: vector %d (%d elements, nil %v) came back with %d (nil %v)", cs, i, len(v), v == nil, len(out[i]), out[i] == nil)
			}
			for j := range v {
				if out[i][j] != 2*v[j] {
					t.Fatalf("chunks of %d: vector %d element %d is %v, want %v", cs, i, j, out[i][j], 2*v[j])
				}
			}
		}
	}
}

// poolForAMinute is a pool of 2 worker processes and a context that ends
// a minute from now, both ended with the test.
func poolForAMinute(t *testing.T) (*mp.Pool, context.Context) {
	t.Helper()
	p := newProcPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return p, ctx
}
