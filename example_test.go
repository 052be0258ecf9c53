package mp_test

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mp-go/mp"
)

// Register functions at package level, so that every process of the
// program knows them by the same name.
var upper = mp.Register("example.upper", mp.Plain(strings.ToUpper))

func ExampleMap() {
	ctx := context.Background()
	pool, err := mp.NewPool(mp.Threads(4))
	if err != nil {
		panic(err)
	}
	defer pool.Close()

	out, err := mp.Map(ctx, pool, upper, []string{"a", "b", "c"})
	fmt.Println(out, err)
	// Output: [A B C] <nil>
}

func ExampleImap() {
	ctx := context.Background()
	pool, _ := mp.NewPool(mp.Threads(2))
	defer pool.Close()

	// An endless input: Imap pulls only what its window allows.
	naturals := func(yield func(int) bool) {
		for i := 0; ; i++ {
			if !yield(i) {
				return
			}
		}
	}
	square := mp.Fn(func(_ context.Context, x int) (int, error) { return x * x, nil })
	for v, err := range mp.Imap(ctx, pool, square, naturals) {
		if err != nil {
			panic(err)
		}
		if v > 50 {
			break // stops the input and the tasks in flight
		}
		fmt.Print(v, " ")
	}
	fmt.Println()
	// Output: 0 1 4 9 16 25 36 49
}

func ExampleSubmit() {
	ctx := context.Background()
	pool, _ := mp.NewPool(mp.Threads(2))
	defer pool.Close()

	f := mp.Submit(ctx, pool, upper, "future")
	v, err := f.Get(ctx)
	fmt.Println(v, err, f.Successful())
	// Output: FUTURE <nil> true
}

func ExampleAsCompleted() {
	ctx := context.Background()
	pool, _ := mp.NewPool(mp.Threads(2))
	defer pool.Close()

	var fs []*mp.Future[string]
	for _, w := range []string{"x", "y", "z"} {
		fs = append(fs, mp.Submit(ctx, pool, upper, w))
	}
	var got []string
	for f, err := range mp.AsCompleted(ctx, fs) {
		if err != nil {
			panic(err)
		}
		v, _ := f.Get(ctx)
		got = append(got, v)
	}
	slices.Sort(got) // completion order varies
	fmt.Println(got)
	// Output: [X Y Z]
}

func ExampleGroupBy() {
	ctx := context.Background()
	pool, _ := mp.NewPool(mp.Threads(2))
	defer pool.Close()

	type sale struct {
		city   string
		amount int
	}
	sales := []sale{{"Oslo", 3}, {"Lima", 5}, {"Oslo", 4}}
	groups := mp.GroupBy(sales, func(s sale) string { return s.city })
	total := mp.Fn(func(_ context.Context, g mp.Group[string, sale]) (string, error) {
		n := 0
		for _, s := range g.Items {
			n += s.amount
		}
		return fmt.Sprintf("%s=%d", g.Key, n), nil
	})
	out, _ := mp.Map(ctx, pool, total, groups) // in first-seen group order
	fmt.Println(out)
	// Output: [Oslo=7 Lima=5]
}

func ExampleNewPool() {
	// Per-worker state, built once per worker (Python's initializer).
	type conn struct{ name string }
	connect := mp.Fn(func(ctx context.Context, dsn string) (*conn, error) {
		return &conn{name: dsn}, nil
	})
	pool, err := mp.NewPool(mp.Threads(2), mp.Initializer(connect, "db"), mp.MaxTasksPerChild(1000))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	query := mp.Fn(func(ctx context.Context, q string) (string, error) {
		c, _ := mp.WorkerState[*conn](ctx)
		return c.name + ": " + q, nil
	})
	v, err := mp.Apply(context.Background(), pool, query, "select 1")
	fmt.Println(v, err)
	// Output: db: select 1 <nil>
}

func ExampleFuture_AddDoneCallback() {
	ctx := context.Background()
	pool, _ := mp.NewPool(mp.Threads(1))
	f := mp.Submit(ctx, pool, upper, "done")
	seen := make(chan string, 1)
	f.AddDoneCallback(func(f *mp.Future[string]) {
		v, _ := f.Get(ctx)
		seen <- v
	})
	fmt.Println(<-seen)
	pool.Close()
	// Output: DONE
}

func ExampleStarmap() {
	ctx := context.Background()
	pool, _ := mp.NewPool(mp.Threads(2))
	defer pool.Close()
	pow := mp.Fn2(func(_ context.Context, base, exp int) (int, error) {
		r := 1
		for range exp {
			r *= base
		}
		return r, nil
	})
	out, err := mp.Starmap(ctx, pool, pow, []mp.Args2[int, int]{{A1: 2, A2: 10}, {A1: 3, A2: 3}})
	fmt.Println(out, err)
	// Output: [1024 27] <nil>
}

// greet runs in a child process: registered at package level, so that the
// child (this program, started again) finds it.
var greet = mp.Register("example.greet", func(_ context.Context, name string) (struct{}, error) {
	fmt.Println("hello from", name)
	return struct{}{}, nil
})

func ExampleNewProcess() {
	ctx := context.Background()
	p, err := mp.NewProcess(greet, "a child process", mp.ProcessName("greeter"))
	if err != nil {
		panic(err)
	}
	if err := p.Start(ctx); err != nil {
		panic(err)
	}
	if err := p.Join(ctx); err != nil {
		panic(err)
	}
	code, _ := p.ExitCode()
	fmt.Println(p.Name(), "exited with", code)
	// Output:
	// hello from a child process
	// greeter exited with 0
}

// Prestart keeps worker processes started ahead, for a program that
// starts process pools often: each pool's workers are then ready in a
// round trip instead of a process start.
func ExamplePrestart() {
	ctx := context.Background()
	if err := mp.Prestart(ctx, 2); err != nil { // two spares, kept from now on
		panic(err)
	}
	defer mp.Prestart(ctx, 0) // end them when done
	for _, word := range []string{"first", "second"} {
		pool, err := mp.NewPool(mp.Processes(2)) // takes the spares
		if err != nil {
			panic(err)
		}
		v, err := mp.Apply(ctx, pool, upper, word)
		fmt.Println(v, err)
		pool.Close() // its workers end; two spares start in their place
	}
	// Output:
	// FIRST <nil>
	// SECOND <nil>
}
