// Command processes starts child processes and joins them: the notes'
// first multiprocessing.Process programs (a target per process, start,
// join; "Process 93994 - doing: loop 0").
//
//	go run ./examples/processes
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/mp-go/mp"
)

// The target runs in another process: it is registered at package level,
// so that the child (this program, started again) finds it by name.
var doJob = mp.Register("processes.doJob", func(_ context.Context, name string) (struct{}, error) {
	whoami(name)
	return struct{}{}, nil
})

func whoami(name string) {
	fmt.Printf("Process %d (%s) - doing: %s\n", os.Getpid(), mp.CurrentProcess().Name(), name)
}

func main() {
	mp.Main() // in a child, runs its target and exits; here, returns at once
	ctx := context.Background()
	whoami("Main program")

	var ps []*mp.Process
	for i := range 4 {
		p, err := mp.NewProcess(doJob, fmt.Sprintf("loop %d", i))
		if err != nil {
			log.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			log.Fatal(err)
		}
		ps = append(ps, p)
	}
	fmt.Println("start")
	for _, p := range ps {
		if err := p.Join(ctx); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("end")
}
