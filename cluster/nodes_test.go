package cluster_test

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/cluster"
)

// freePort returns a port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestThreeNodesOneStopped runs a map on a three-node NATS cluster (three
// embedded servers on loopback) and stops a node in the middle: the map
// completes, every item once, in order.
func TestThreeNodesOneStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	ctx := testCtx(t)
	ports := []int{freePort(t), freePort(t), freePort(t)}
	var nodes []*cluster.Server
	var urls []string
	for i := range 3 {
		var routes []string
		for j, p := range ports {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
			}
		}
		srv, err := cluster.StartServer(cluster.ServerName(fmt.Sprint("n", i)), cluster.Routes("mp-test", ports[i], routes...))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Shutdown()
		nodes = append(nodes, srv)
		urls = append(urls, srv.URL())
	}
	url := strings.Join(urls, ",")
	pool, err := mp.NewPool(mp.Cluster(url), mp.AckWait(2*time.Second), mp.Threads(16))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	startWorker(t, url)
	startWorker(t, url)
	const n = 400
	in := make([]slowArg, n)
	for i := range in {
		in[i] = slowArg{i, 5 * time.Millisecond}
	}
	results := make([]int, 0, n)
	stopped := false
	for r, err := range mp.Imap(ctx, pool, slow, slices.Values(in), mp.Chunksize(4)) {
		if err != nil {
			t.Fatalf("item %d: %v", len(results), err)
		}
		results = append(results, r.Sq)
		if len(results) == 100 && !stopped {
			stopped = true
			nodes[2].Shutdown() // with tasks and results in flight
		}
	}
	if len(results) != n {
		t.Fatalf("%d results for %d items", len(results), n)
	}
	for i, v := range results {
		if v != i*i {
			t.Fatalf("item %d = %d", i, v)
		}
	}
}
