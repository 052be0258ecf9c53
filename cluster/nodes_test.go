package cluster_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/cluster"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNodes starts a NATS cluster of n embedded servers on loopback.
// Their cluster ports are picked free before the servers listen on them,
// so another process may take one in between: the cluster is then
// started again on other ports.
func startNodes(t *testing.T, n int) []*cluster.Server {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ports := make([]int, n)
		for i := range ports {
			ports[i] = freePort(t)
		}
		var nodes []*cluster.Server
		var err error
		for i := range n {
			var routes []string
			for j, p := range ports {
				if j != i {
					routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
				}
			}
			var srv *cluster.Server
			if srv, err = cluster.StartServer(cluster.ServerName(fmt.Sprint("n", i)), cluster.Routes("mp-test", ports[i], routes...)); err != nil {
				break
			}
			nodes = append(nodes, srv)
		}
		if err == nil {
			t.Cleanup(func() {
				for _, srv := range nodes {
					srv.Shutdown()
				}
			})
			return nodes
		}
		for _, srv := range nodes {
			srv.Shutdown()
		}
		if attempt == 5 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("starting node %d of %d (attempt %d): %v", len(nodes), n, attempt, err)
		}
		t.Logf("starting node %d of %d: %v; again on other ports", len(nodes), n, err)
	}
}

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

// TestStartServerPortTaken: a server whose client or cluster port is
// taken fails at once, saying so, instead of waiting 30 s to be ready.
func TestStartServerPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name string
		opt  cluster.ServerOption
	}{
		{"client port", cluster.Listen("127.0.0.1", taken)},
		{"cluster port", cluster.Routes("mp-test", taken, "nats-route://127.0.0.1:1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			srv, err := cluster.StartServer(tc.opt)
			if err == nil {
				srv.Shutdown()
				t.Fatalf("started on a taken port %d", taken)
			}
			if !strings.Contains(err.Error(), "cannot start") || !strings.Contains(err.Error(), fmt.Sprint(taken)) || !strings.Contains(err.Error(), "address already in use") {
				t.Fatalf("error %q does not say that port %d is taken", err, taken)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Fatalf("took %v to fail", d)
			}
		})
	}
}

// TestThreeNodesOneStopped runs a map on a three-node NATS cluster (three
// embedded servers on loopback) and stops a node in the middle: the map
// completes, every item once, in order.
func TestThreeNodesOneStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	ctx := testCtx(t)
	nodes := startNodes(t, 3)
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.URL())
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
	var stopTook time.Duration
	for r, err := range mp.Imap(ctx, pool, slow, slices.Values(in), mp.Chunksize(4)) {
		if err != nil {
			t.Fatalf("item %d: %v (stopping node n2 took %v)\n%s", len(results), err, stopTook, queueState(urls[0]))
		}
		results = append(results, r.Sq)
		if len(results) == 100 && !stopped {
			stopped = true
			start := time.Now()
			nodes[2].Shutdown() // with tasks and results in flight
			stopTook = time.Since(start)
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

// queueState describes the task queue and its consumer as the server at
// url sees them, for a test that failed to get its results.
func queueState(url string) string {
	nc, err := nats.Connect(url)
	if err != nil {
		return fmt.Sprintf("queue state: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Sprintf("queue state: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	for _, name := range []string{"MP_TASKS", "MP_RESULTS"} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			fmt.Fprintf(&b, "stream %s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(&b, "stream %s: %+v cluster %+v\n", name, st.CachedInfo().State, st.CachedInfo().Cluster)
	}
	if c, err := js.Consumer(ctx, "MP_TASKS", "workers"); err != nil {
		fmt.Fprintf(&b, "consumer: %v\n", err)
	} else {
		ci := c.CachedInfo()
		fmt.Fprintf(&b, "consumer: delivered %+v ack floor %+v pending %d ack pending %d redelivered %d waiting %d cluster %+v\n",
			ci.Delivered, ci.AckFloor, ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting, ci.Cluster)
	}
	return b.String()
}
