// Command pool-basics walks through the notes' Pool patterns on two worker
// processes (Python's mp.Pool(processes=2)): apply_async in a loop then
// close/join, map_async, starmap_async with two arguments, and an
// initializer that gives each worker its own state.
//
//	go run ./examples/pool-basics
package main

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/mp-go/mp"
)

var (
	hello = mp.Register("pool-basics.hello", func(_ context.Context, msg string) (string, error) {
		time.Sleep(50 * time.Millisecond)
		return "msg: " + msg, nil
	})
	pair = mp.Register2("pool-basics.pair", func(_ context.Context, a, b int) (string, error) {
		return fmt.Sprintf("msg1: %d msg2: %d", a, b), nil
	})
)

// A worker's costly state, built once per worker (Python's initializer).
type parser struct{ replacer *strings.Replacer }

// newParser builds a worker's state from the initializer's argument
// (Python's initargs).
var newParser = mp.Register("pool-basics.newParser", func(_ context.Context, sep string) (*parser, error) {
	return &parser{strings.NewReplacer(sep, " ")}, nil
})

var clean = mp.Register("pool-basics.clean", func(ctx context.Context, s string) (string, error) {
	p, _ := mp.WorkerState[*parser](ctx)
	return p.replacer.Replace(s), nil
})

func main() {
	mp.Main() // workers are this program, started again
	ctx := context.Background()
	pool, err := mp.NewPool(mp.Processes(2), mp.Initializer(newParser, "_"))
	if err != nil {
		log.Fatal(err)
	}

	// apply_async in a loop; the results are in the futures.
	var fs []*mp.Future[string]
	for i := range 5 {
		fs = append(fs, mp.ApplyAsync(ctx, pool, hello, fmt.Sprintf("hello %d", i)))
	}
	fmt.Println("start")

	// map_async: one future for the whole list.
	all := mp.MapAsync(ctx, pool, hello, []string{"a", "b", "c"})

	// starmap_async: several arguments per task.
	pairs := mp.StarmapAsync(ctx, pool, pair, []mp.Args2[int, int]{{A1: 1, A2: 1}, {A1: 2, A2: 2}})

	cleaned, err := mp.Map(ctx, pool, clean, []string{"per_worker_state", "built_once"})
	if err != nil {
		log.Fatal(err)
	}

	pool.Close() // Python's pool.close(); pool.join()
	for _, f := range fs {
		r, err := f.Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(r)
	}
	for _, f := range []*mp.Future[[]string]{all, pairs} {
		rs, err := f.Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(rs)
	}
	fmt.Println(cleaned)
	fmt.Println("done.")
}
