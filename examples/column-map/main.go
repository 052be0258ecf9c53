// Command column-map computes a costly column in parallel with Map, a
// chunksize and a progress bar: the notes'
//
//	data["col"] = list(tqdm(pool.map(f, params, chunksize=10), total=n))
//
//	go run ./examples/column-map
package main

import (
	"context"
	"fmt"
	"log"
	"math"

	"github.com/mp-go/mp"
)

// score stands for a costly per-row computation.
var score = mp.Register("column-map.score", mp.Plain(func(x float64) float64 {
	s := 0.0
	for k := 1; k <= 2000; k++ {
		s += math.Sin(x*float64(k)) / float64(k)
	}
	return s
}))

func main() {
	ctx := context.Background()
	pool, err := mp.NewPool() // CPUCount() workers
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	column := make([]float64, 20_000)
	for i := range column {
		column[i] = float64(i) / 1000
	}
	scores, err := mp.Map(ctx, pool, score, column, mp.Chunksize(10), mp.Progress("scoring"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("scored %d rows; score[1000] = %.4f\n", len(scores), scores[1000])
}
