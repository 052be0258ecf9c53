package mp_test

import (
	"context"
	"errors"
	"fmt"

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
	// Output:
	// threads, 2 workers
	// done 6, failed 2, retried 2, queued 0
	// items run by the workers: 8
}
