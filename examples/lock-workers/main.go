// Command lock-workers runs the notes' Lock example with worker processes:
// two workers take the data items, and a Lock shared by both lets only one
// at a time into the part that must not run twice at once.
//
//	go run ./examples/lock-workers
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/mp-go/mp"
)

type item struct {
	Lock *mp.Lock // travels to the worker: only its name crosses
	Msg  string
}

var work = mp.Register("lock-workers.work", func(ctx context.Context, it item) (string, error) {
	me := mp.CurrentProcess().Name()
	if err := it.Lock.Lock(ctx); err != nil {
		return "", err
	}
	defer it.Lock.Unlock()
	start := time.Now()
	time.Sleep(100 * time.Millisecond) // the work no one else may do meanwhile
	return fmt.Sprintf("%s: %s (held the lock %v)", me, it.Msg, time.Since(start).Round(10*time.Millisecond)), nil
})

func main() {
	mp.Main()
	ctx := context.Background()
	lock, err := mp.NewLock()
	if err != nil {
		log.Fatal(err)
	}
	defer lock.Unlink()
	pool, err := mp.NewPool(mp.Processes(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	var items []item
	for i := range 5 {
		items = append(items, item{lock, fmt.Sprintf("Data %d", i)})
	}
	start := time.Now()
	lines, err := mp.Map(ctx, pool, work, items, mp.Chunksize(1))
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	// five items of 100 ms, one at a time: about half a second, though
	// two workers ran them
	fmt.Printf("Done: %d items one at a time in %v.\n", len(lines), time.Since(start).Round(100*time.Millisecond))
}
