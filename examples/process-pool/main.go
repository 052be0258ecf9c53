// Command process-pool is the notes' ProcessPoolExecutor scenario with the
// fix for its most puzzling error: "BrokenProcessPool: A process in the
// process pool was terminated abruptly", cured in Python by
// `if __name__ == "__main__":`. In Go the workers are this program started
// again, and mp.Main() at the top of main is what makes them serve tasks.
// It also shows what Python cannot do: a worker that crashes fails only
// its own task, and the pool goes on.
//
//	go run ./examples/process-pool
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"

	"github.com/mp-go/mp"
)

type sale struct {
	City   string
	Amount float64
}

// Registered at package level: every process of the program knows these
// names before mp.Main runs.
var (
	total = mp.Register("process-pool.total", func(_ context.Context, g mp.Group[string, sale]) (string, error) {
		sum := 0.0
		for _, s := range g.Items {
			sum += s.Amount
		}
		return fmt.Sprintf("%s=%.0f (worker pid %d)", g.Key, sum, os.Getpid()), nil
	})
	// crashy dies on a poisoned group, as a cgo library might.
	crashy = mp.Register("process-pool.crashy", func(_ context.Context, g mp.Group[string, sale]) (string, error) {
		if g.Key == "Poison" {
			self, _ := os.FindProcess(os.Getpid())
			self.Kill()
			select {} // the kill lands at once
		}
		return g.Key + " ok", nil
	})
)

func main() {
	mp.Main() // in a worker process this serves tasks and never returns

	ctx := context.Background()
	pool, err := mp.NewPool(mp.Processes(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	rows := []sale{{"Taipei", 120}, {"Osaka", 40}, {"Taipei", 60}, {"Lyon", 300}, {"Poison", 1}}
	groups := mp.GroupBy(rows, func(s sale) string { return s.City })

	var futures []*mp.Future[string]
	for _, g := range groups[:3] {
		futures = append(futures, mp.Submit(ctx, pool, total, g))
	}
	var lines []string
	for f, err := range mp.AsCompleted(ctx, futures) {
		if err != nil {
			log.Fatal(err)
		}
		line, err := f.Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}

	// A crash fails its own task only.
	out, err := mp.Map(ctx, pool, crashy, groups, mp.Partial(), mp.Chunksize(1))
	var we *mp.WorkerError
	if errors.As(err, &we) {
		fmt.Printf("a worker died (pid %d, signal %s); the others: %q\n", we.PID, we.Signal, out[:3])
	}
}
