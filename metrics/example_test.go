package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/metrics"
)

// Export a pool's Stats for Prometheus: serve Handler at /metrics.
func ExampleHandler() {
	pool, err := mp.NewPool(mp.Threads(2))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	c := metrics.NewCollector()
	if err := c.Add("squares", pool); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics.Handler(c))
	srv := httptest.NewServer(mux) // http.ListenAndServe("localhost:9100", mux) in a program
	defer srv.Close()

	square := mp.Fn(mp.Plain(func(x int) int { return x * x }))
	mp.Map(context.Background(), pool, square, []int{1, 2, 3, 4})

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "mp_items_total") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// mp_items_total{outcome="cancelled",pool="squares"} 0
	// mp_items_total{outcome="done",pool="squares"} 4
	// mp_items_total{outcome="failed",pool="squares"} 0
}
