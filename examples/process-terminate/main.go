// Command process-terminate starts a child that loops for a long time and
// ends it early with Terminate: the notes' "early stop" (p.terminate()).
//
//	go run ./examples/process-terminate
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/mp-go/mp"
)

var loopy = mp.Register("process-terminate.loopy", func(_ context.Context, name string) (struct{}, error) {
	fmt.Printf("Process %d - doing: %s\n", os.Getpid(), name)
	const n = 100000
	for i := 1; i < n; i++ {
		fmt.Printf("Doing %d of %d\n", i, n)
		time.Sleep(200 * time.Millisecond)
	}
	return struct{}{}, nil
})

func main() {
	mp.Main()
	ctx := context.Background()
	fmt.Printf("Process %d - doing: Main program\n", os.Getpid())
	p, err := mp.NewProcess(loopy, "loopy")
	if err != nil {
		log.Fatal(err)
	}
	// The child works in the background...
	if err := p.Start(ctx); err != nil {
		log.Fatal(err)
	}
	// ...while the main program does its own work.
	for range 3 {
		fmt.Println("Main processing...")
		time.Sleep(400 * time.Millisecond)
	}
	// Stop it early. Without this, Join would wait for all its loops.
	if err := p.Terminate(); err != nil {
		log.Fatal(err)
	}
	err = p.Join(ctx) // a *mp.ProcessError: killed by SIGTERM
	code, _ := p.ExitCode()
	fmt.Printf("Done: exit code %d (%v)\n", code, err)
}
