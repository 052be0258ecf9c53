// Command semaphore-workers runs the notes' Semaphore example with worker
// processes: three workers, and a semaphore that lets two of them at a
// time into the limited part (two "connections").
//
//	go run ./examples/semaphore-workers
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/mp-go/mp"
)

type item struct {
	Sem  *mp.Semaphore
	Busy *mp.Value[int32] // how many are inside now
	Msg  string
}

var work = mp.Register("semaphore-workers.work", func(ctx context.Context, it item) (int32, error) {
	if err := it.Sem.Acquire(ctx); err != nil {
		return 0, err
	}
	inside := mp.Add(it.Busy, 1)
	fmt.Printf("Semaphore acquired by %s (%d left): %s\n", mp.CurrentProcess().Name(), it.Sem.Value(), it.Msg)
	time.Sleep(100 * time.Millisecond)
	mp.Add(it.Busy, -1)
	fmt.Printf("Semaphore released by %s\n", mp.CurrentProcess().Name())
	return inside, it.Sem.Release()
})

func main() {
	mp.Main()
	ctx := context.Background()
	const maxConnections = 2
	sem, err := mp.NewBoundedSemaphore(maxConnections)
	if err != nil {
		log.Fatal(err)
	}
	defer sem.Unlink()
	busy, err := mp.NewValue[int32](0)
	if err != nil {
		log.Fatal(err)
	}
	defer busy.Unlink()
	pool, err := mp.NewPool(mp.Processes(3))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	var items []item
	for i := range 6 {
		items = append(items, item{sem, busy, fmt.Sprintf("Data %d", i)})
	}
	inside, err := mp.Map(ctx, pool, work, items, mp.Chunksize(1))
	if err != nil {
		log.Fatal(err)
	}
	most := int32(0)
	for _, n := range inside {
		most = max(most, n)
	}
	fmt.Printf("Done: at most %d workers inside at once (limit %d).\n", most, maxConnections)
}
