package cluster_test

import (
	"context"
	"fmt"

	"github.com/mp-go/mp"
	_ "github.com/mp-go/mp/cluster"
)

var cube = mp.Register("cluster-example.cube", func(_ context.Context, x int) (int, error) { return x * x * x, nil })

// A pool on an embedded NATS server with two local worker processes; on
// several hosts, give mp.Cluster the cluster's URL and start the program
// on each with MP_CLUSTER_WORKER=<url>.
func Example() {
	pool, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	cubes, err := mp.Map(context.Background(), pool, cube, []int{1, 2, 3, 4})
	fmt.Println(cubes, err)
	// Output: [1 8 27 64] <nil>
}
