package cluster_test

import (
	"context"
	"testing"

	"github.com/mp-go/mp"
)

// BenchmarkMapOnePerMessage is a Map of trivial tasks, one per message,
// on an embedded server with two local workers.
func BenchmarkMapOnePerMessage(b *testing.B) {
	ctx := context.Background()
	pool, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(2))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	in := make([]int, 5000)
	for b.Loop() {
		if _, err := mp.Map(ctx, pool, square, in, mp.Chunksize(1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(in))/b.Elapsed().Seconds(), "tasks/s")
}
