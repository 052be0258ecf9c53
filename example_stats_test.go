package mp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/mp-go/mp"
)

// Stats shows what a pool has done: here a call with Partial where two
// items fail, one of them after a retry that also failed.
func ExamplePool_Stats() {
	pool, err := mp.NewPool(mp.Threads(2))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	check := mp.Fn(func(_ context.Context, x int) (int, error) {
		if x%4 == 3 {
			return 0, errors.New("odd one out")
		}
		return x, nil
	})
	mp.Map(context.Background(), pool, check, []int{0, 1, 2, 3, 4, 5, 6, 7}, mp.Partial(), mp.Retries(1))
	pool.Join()

	s := pool.Stats()
	fmt.Printf("%s, %d workers\n", s.Backend, s.Workers)
	fmt.Printf("done %d, failed %d, retried %d, queued %d\n", s.Done, s.Failed, s.Retried, s.Queued)
	var tasks int64
	for _, w := range s.PerWorker {
		tasks += w.Tasks
	}
	fmt.Println("items run by the workers:", tasks)
	failed := s.RecentErrors // in the order they failed: sort them for the example
	slices.SortFunc(failed, func(a, b mp.FailedItem) int { return a.Index - b.Index })
	for _, f := range failed {
		fmt.Printf("item %d (%s): %v\n", f.Index, f.Item, f.Err)
	}
	// Output:
	// threads, 2 workers
	// done 6, failed 2, retried 2, queued 0
	// items run by the workers: 8
	// item 3 (3): odd one out
	// item 7 (7): odd one out
}

// Dashboard serves a live page of the pool while it works: open the URL
// in a browser. GET /snapshot gives the same numbers as JSON.
func ExampleDashboard() {
	pool, err := mp.NewPool(mp.Threads(2), mp.Dashboard("127.0.0.1:0"), mp.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	square := mp.Fn(func(_ context.Context, x int) (int, error) { return x * x, nil })
	mp.Map(context.Background(), pool, square, []int{1, 2, 3})

	url := pool.DashboardURL() // http://127.0.0.1:PORT/
	resp, err := http.Get(url + "snapshot")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct {
		Runs []struct {
			Backend string
			Done    int
		}
	}
	json.NewDecoder(resp.Body).Decode(&page)
	fmt.Printf("%s: %d done\n", page.Runs[0].Backend, page.Runs[0].Done)
	// Output: threads: 3 done
}
