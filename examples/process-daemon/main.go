// Command process-daemon shows daemon and non-daemon children: the notes'
// example where d.join(1) gives up on a daemon still sleeping, and
// d.is_alive() says so.
//
// In Go, every child dies with its parent, daemon or not; JoinChildren at
// the end of main does what Python does at exit: it terminates the daemon
// children and waits for the others. So the daemon never prints
// "Exiting".
//
//	go run ./examples/process-daemon
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/mp-go/mp"
)

// The start time travels as the argument: a child is a new process, with
// none of the parent's variables (Python's fork would have copied tic).
var (
	daemon = mp.Register("process-daemon.daemon", func(_ context.Context, tic time.Time) (struct{}, error) {
		name := mp.CurrentProcess().Name()
		fmt.Printf("[%.2f] Starting: %s\n", time.Since(tic).Seconds(), name)
		time.Sleep(5 * time.Second)
		fmt.Printf("[%.2f] Exiting: %s\n", time.Since(tic).Seconds(), name)
		return struct{}{}, nil
	})
	nonDaemon = mp.Register("process-daemon.nonDaemon", func(_ context.Context, tic time.Time) (struct{}, error) {
		name := mp.CurrentProcess().Name()
		fmt.Printf("[%.2f] Starting: %s\n", time.Since(tic).Seconds(), name)
		fmt.Printf("[%.2f] Exiting: %s\n", time.Since(tic).Seconds(), name)
		return struct{}{}, nil
	})
)

func main() {
	mp.Main()
	ctx := context.Background()
	tic := time.Now()
	d, err := mp.NewProcess(daemon, tic, mp.ProcessName("daemon"), mp.Daemon(true))
	if err != nil {
		log.Fatal(err)
	}
	n, err := mp.NewProcess(nonDaemon, tic, mp.ProcessName("non-daemon"))
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range []*mp.Process{d, n} {
		if err := p.Start(ctx); err != nil {
			log.Fatal(err)
		}
	}
	// Wait for d at most a second, then go on.
	if err := d.JoinTimeout(time.Second); !errors.Is(err, context.DeadlineExceeded) {
		log.Fatalf("the daemon ended early: %v", err)
	}
	fmt.Println("d.IsAlive():", d.IsAlive())
	if err := n.Join(ctx); err != nil {
		log.Fatal(err)
	}
	// Python's exit: terminate daemons, join the rest.
	if err := mp.JoinChildren(ctx); err != nil {
		log.Fatal(err)
	}
	code, _ := d.ExitCode()
	fmt.Printf("[%.2f] main exits; the daemon was terminated (exit code %d)\n", time.Since(tic).Seconds(), code)
}
