package manager_test

import (
	"context"
	"fmt"
	"net"

	"github.com/mp-go/mp/manager"
)

// A manager served over TCP by a process of your own, reached from
// others by address and authkey: Python's remote manager
// (BaseManager(address=(host, port), authkey=…) with serve_forever() on
// one side and connect() on the other).
func ExampleServe() {
	ctx := context.Background()
	key := []byte("a long random secret")
	ln, err := net.Listen("tcp", "127.0.0.1:0") // ":50000" to serve other hosts
	if err != nil {
		fmt.Println(err)
		return
	}
	served := make(chan error, 1)
	go func() { served <- manager.Serve(ctx, ln, key) }() // serve_forever()

	// In any process, on any host that reaches the address:
	m, err := manager.Connect(ctx, "tcp://"+ln.Addr().String(), key)
	if err != nil {
		fmt.Println(err)
		return
	}
	jobs, _ := manager.NewQueue[string](ctx, m, 0, manager.Named("jobs")) // found by name
	jobs.Put(ctx, "resize photo.jpg")
	job, _ := jobs.Get(ctx)
	fmt.Println(job)

	m.Shutdown(ctx) // ends Serve
	fmt.Println(<-served)
	// Output:
	// resize photo.jpg
	// <nil>
}
