// Command cluster runs a pool on NATS JetStream (Ray's
// multiprocessing.Pool, without Ray): with no URL, mp starts an embedded
// NATS server and two worker processes of this program on this machine.
//
//	go run ./examples/cluster
//
// On several hosts: start a server (`mp server -listen 0.0.0.0:4222
// -token SECRET`), give the pool its URL (`-url
// nats://SECRET@host:4222`), and start workers on every host: this
// program, built, run with MP_CLUSTER_WORKER=nats://SECRET@host:4222.
// Workers may come and go while a map runs; a task whose worker dies runs
// again on another, and the map still gets exactly one result per item.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"os"

	"github.com/mp-go/mp"
	_ "github.com/mp-go/mp/cluster" // the NATS backend
)

type result struct {
	N      int
	Primes int
	PID    int
}

// countPrimes counts the primes below n: a CPU-bound task.
var countPrimes = mp.Register("cluster-example.primes", func(_ context.Context, n int) (result, error) {
	count := 0
	for i := 2; i < n; i++ {
		prime := true
		for d := 2; d <= int(math.Sqrt(float64(i))); d++ {
			if i%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	return result{n, count, os.Getpid()}, nil
})

func main() {
	mp.Main() // a worker (MP_CLUSTER_WORKER set) serves tasks here and never returns
	url := flag.String("url", "", "NATS URL of the cluster (default: an embedded server and 2 local workers)")
	flag.Parse()

	opts := []mp.PoolOption{mp.Cluster(*url)}
	if *url == "" {
		opts = append(opts, mp.LocalWorkers(2))
	}
	pool, err := mp.NewPool(opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	ns := []int{10, 100, 1_000, 10_000, 100_000}
	results, err := mp.Map(context.Background(), pool, countPrimes, ns, mp.Chunksize(1))
	if err != nil {
		log.Fatal(err)
	}
	workers := map[int]bool{}
	for _, r := range results {
		fmt.Printf("primes below %d: %d\n", r.N, r.Primes)
		workers[r.PID] = true
	}
	_, here := workers[os.Getpid()]
	fmt.Printf("ran in %d worker process(es), none of them this one: %v\n", len(workers), !here)
}
