// Command threads runs the threading half of the Python notes (001) in
// Go: named jobs started while main keeps working (threading.Thread,
// start, join), five workers with an argument each, two workers draining
// a queue (queue.Queue), a Lock around the part one worker at a time may
// run, and a Semaphore letting two in at a time.
//
// The Go idiom is a goroutine per thread, a sync.WaitGroup to join them,
// a channel as the queue and sync.Mutex as the lock. The last part shows
// where mp fits: a goroutine pool (mp.Threads) whose tasks return results
// and errors, mp.WorkerID as current_thread(), and an mp.Semaphore, the
// same object that would work between worker processes.
//
//	go run ./examples/threads
package main

import (
	"context"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp"
)

// unit is the notes' second, shortened so that the program runs quickly.
const unit = 50 * time.Millisecond

func main() {
	mp.Main()
	namedJobs()
	fiveWorkers()
	queueWorkers()
	lockWorkers()
	semaphorePool()
}

// namedJobs is threading.Thread(target=job_long, name='task1') and
// job_short as task2: both start, main keeps working, then joins them.
// Goroutines have no names (current_thread()): the name is passed in.
func namedJobs() {
	tic := time.Now()
	fmt.Println("Start main thread")
	var wg sync.WaitGroup
	job := func(name string, d time.Duration) {
		fmt.Printf("Start job %s\n", name)
		time.Sleep(d)
		fmt.Printf("%5.2f - Done job %s\n", time.Since(tic).Seconds(), name)
	}
	wg.Go(func() { job("task1 (long)", 5*unit) })
	wg.Go(func() { job("task2 (short)", 2*unit) })
	for i := range 3 { // the main goroutine goes on with its own work
		fmt.Printf("%5.2f - Main thread working... %d\n", time.Since(tic).Seconds(), i)
		time.Sleep(unit)
	}
	wg.Wait() // td1.join(); td2.join()
	fmt.Println("All done!")
}

// fiveWorkers is `for i in range(5): threading.Thread(target=job,
// args=(i,)).start()` and joining them all (also the subclass-of-Thread
// version: in Go the "run method" is the function the goroutine runs).
func fiveWorkers() {
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Go(func() {
			fmt.Println("Thread", i)
			time.Sleep(unit)
		})
	}
	wg.Wait()
	fmt.Println("Done.")
}

// queueWorkers is two Worker threads emptying a queue.Queue of ten
// items. A channel is Go's queue; closing it says "no more", so a worker
// simply ranges over it (the notes' `while q.qsize() > 0: q.get()` races:
// both workers may see one item left, and one then blocks for ever).
func queueWorkers() {
	q := make(chan string, 10)
	for i := range 10 {
		q <- fmt.Sprintf("Data %d", i)
	}
	close(q)
	var wg sync.WaitGroup
	var done atomic.Int32
	for num := 1; num <= 2; num++ {
		wg.Go(func() {
			for msg := range q {
				fmt.Printf("Worker %d: %s\n", num, msg)
				done.Add(1)
				time.Sleep(unit / 5)
			}
		})
	}
	wg.Wait()
	fmt.Printf("Queue done: %d items.\n", done.Load())
}

// lockWorkers is threading.Lock around the part only one worker at a time
// may run (writing to one file, say).
func lockWorkers() {
	q := make(chan string, 5)
	for i := range 5 {
		q <- fmt.Sprintf("Data %d", i)
	}
	close(q)
	var lock sync.Mutex
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for num := 1; num <= 2; num++ {
		wg.Go(func() {
			for msg := range q {
				lock.Lock()
				fmt.Printf("Lock acquired by Worker %d\n", num)
				n := inside.Add(1)
				most.Store(max(most.Load(), n))
				fmt.Printf("Worker %d: %s\n", num, msg)
				time.Sleep(unit / 5)
				inside.Add(-1)
				fmt.Printf("Lock released by Worker %d\n", num)
				lock.Unlock()
			}
		})
	}
	wg.Wait()
	fmt.Printf("Lock done: at most %d worker inside at once.\n", most.Load())
}

// semaphorePool is the notes' Semaphore(2) with three workers, on mp's
// goroutine pool: each task returns how many were inside with it. The
// pool's Initializer names each worker (its state, read back with
// mp.WorkerState: Python's current_thread().name, or a threading.local
// set by ThreadPool's initializer). The mp.Semaphore is the one that also
// works between processes; between goroutines only, a buffered
// `chan struct{}` of capacity 2 does the same.
func semaphorePool() {
	ctx := context.Background()
	const maxConnections = 2
	sem, err := mp.NewBoundedSemaphore(maxConnections)
	if err != nil {
		log.Fatal(err)
	}
	defer sem.Unlink()
	name := mp.Fn(func(ctx context.Context, prefix string) (string, error) {
		return fmt.Sprintf("%s-%d", prefix, mp.WorkerID(ctx)), nil
	})
	pool, err := mp.NewPool(mp.Threads(3), mp.Initializer(name, "Thread"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	var inside atomic.Int32
	work := mp.Fn(func(ctx context.Context, msg string) (int32, error) {
		if err := sem.Acquire(ctx); err != nil {
			return 0, err
		}
		n := inside.Add(1)
		me, _ := mp.WorkerState[string](ctx)
		fmt.Printf("Semaphore acquired by %s: %s\n", me, msg)
		time.Sleep(unit)
		inside.Add(-1)
		return n, sem.Release()
	})
	var msgs []string
	for i := range 6 {
		msgs = append(msgs, fmt.Sprintf("Data %d", i))
	}
	counts, err := mp.Map(ctx, pool, work, msgs, mp.Chunksize(1))
	if err != nil {
		log.Fatal(err)
	}
	most := int32(0)
	for _, n := range counts {
		most = max(most, n)
	}
	fmt.Printf("Semaphore done: %d items, never more than %d inside (limit %d): %v.\n", len(counts), most, maxConnections, most <= maxConnections)
}
