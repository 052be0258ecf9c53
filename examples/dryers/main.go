// Command dryers is the notes' JoinableQueue example: a washer (the main
// program) puts dishes in a queue, two daemon dryer processes take them,
// and the washer waits with Join until every dish has been dried.
//
//	go run ./examples/dryers
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/mp-go/mp"
)

type dryerArgs struct {
	Dishes *mp.JoinableQueue[string] // the queue travels: its name crosses, the child maps it
	Tic    time.Time
}

var dryer = mp.Register("dryers.dryer", func(ctx context.Context, a dryerArgs) (struct{}, error) {
	name := mp.CurrentProcess().Name()
	for {
		dish, err := a.Dishes.Get(ctx)
		if err != nil {
			return struct{}{}, err
		}
		fmt.Printf("[%.2f] %s(%d) - Drying dish: %s\n", time.Since(a.Tic).Seconds(), name, os.Getpid(), dish)
		time.Sleep(300 * time.Millisecond)
		fmt.Printf("[%.2f] %s(%d) - Done: %s\n", time.Since(a.Tic).Seconds(), name, os.Getpid(), dish)
		a.Dishes.TaskDone() // tell the queue this dish is done
	}
})

func main() {
	mp.Main()
	ctx := context.Background()
	tic := time.Now()
	dishes, err := mp.NewJoinableQueue[string](0)
	if err != nil {
		log.Fatal(err)
	}
	defer dishes.Unlink()
	for i := range 2 {
		p, err := mp.NewProcess(dryer, dryerArgs{dishes, tic}, mp.ProcessName(fmt.Sprintf("dryer-%d", i+1)), mp.Daemon(true))
		if err != nil {
			log.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			log.Fatal(err)
		}
	}
	for _, dish := range []string{"apple", "banana", "orange", "salad"} {
		fmt.Printf("[%.2f] Washing dish (%d): %s\n", time.Since(tic).Seconds(), os.Getpid(), dish)
		time.Sleep(100 * time.Millisecond)
		if err := dishes.Put(ctx, dish); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("All wash work done!!!")
	if err := dishes.Join(ctx); err != nil { // until every dish is TaskDone
		log.Fatal(err)
	}
	fmt.Println("All Done!")
	mp.JoinChildren(ctx) // Python's exit: the daemon dryers are terminated
}
