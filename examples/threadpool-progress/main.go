// Command threadpool-progress is the notes' ThreadPool + tqdm demo: imap
// over a thread pool, with a bar whose description shows the latest
// result.
//
//	with ThreadPool(2) as pool:
//	    pbar = tqdm(pool.imap(func, range(10)), total=10)
//	    for result in pbar: pbar.desc = f"{result=}"
//
//	go run ./examples/threadpool-progress
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/progress"
)

func main() {
	ctx := context.Background()
	pool, err := mp.NewPool(mp.Threads(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// A closure is fine on a goroutine pool.
	f := mp.Fn(func(_ context.Context, num int) (*int, error) {
		time.Sleep(100 * time.Millisecond)
		if num%3 == 0 {
			r := num * 10
			return &r, nil
		}
		return nil, nil // Python's None
	})
	bar := progress.New(10, progress.Interval(50*time.Millisecond), progress.PlainInterval(500*time.Millisecond))
	defer bar.Close()
	items := func(yield func(int) bool) {
		for i := range 10 {
			if !yield(i) {
				return
			}
		}
	}
	for result, err := range mp.Imap(ctx, pool, f, items, mp.ProgressBar(bar)) {
		if err != nil {
			log.Fatal(err)
		}
		if result != nil {
			bar.Describe(fmt.Sprintf("result=%d", *result))
		} else {
			bar.Describe("result=None")
		}
	}
}
