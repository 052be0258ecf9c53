package registry

import (
	"context"
	"sync"
	"time"

	"github.com/mp-go/mp/internal/wire"
)

// Cluster is the NATS backend of package mp's Cluster pools, implemented
// by package cluster, which registers it with SetCluster when it is linked
// in (import _ "github.com/mp-go/mp/cluster"): a program that never uses
// a cluster does not carry NATS.
type Cluster interface {
	// Dial connects a pool to a cluster.
	Dial(cfg Config) (Transport, error)
	// Serve runs this process as a worker of the cluster at url until the
	// connection ends, and returns the exit status.
	Serve(url string) int
}

// Config is what a pool asks of its cluster.
type Config struct {
	URL          string        // "" starts an embedded server in this process
	LocalWorkers int           // worker processes of this program to start, connected to the cluster
	AckWait      time.Duration // how long a task may go without a sign of life before it is redelivered
	MaxDeliver   int           // deliveries of a task before it fails
	Creds        string        // a .creds file (JWT and seed) or an nkey seed file, for the cluster's authentication
	CA           string        // a CA file for the cluster's TLS certificates
	Run          string        // names the pool's work, to resume it after a restart (mp.ClusterRun)
}

// Transport is a pool's connection to a cluster.
type Transport interface {
	// Run sends t to the cluster's workers and hands its Results to
	// onResults, in order, once: duplicates from redeliveries are
	// dropped. It returns once every item is reported, or with the
	// error that ended it (the context's, a task delivered MaxDeliver
	// times, the cluster gone). When t.Ticks is set, onTick gets the
	// ticks of t's items (mp.Tick) while it runs, and the rest of them
	// before onResults: with the results, it has had each tick once.
	// onTick is not called once Run has returned.
	Run(ctx context.Context, t *wire.Task, onTick func(n int64), onResults func(*wire.Results)) error
	// URL is the address workers connect to.
	URL() string
	// Close stops what Dial started: the local workers, the embedded
	// server, the connection.
	Close() error
}

var cluster struct {
	sync.Mutex
	c Cluster
}

// SetCluster registers the cluster backend; package cluster calls it
// when it initialises. A second call panics: there is one NATS backend.
func SetCluster(c Cluster) {
	cluster.Lock()
	defer cluster.Unlock()
	if cluster.c != nil {
		panic("mp: cluster backend registered twice")
	}
	cluster.c = c
}

// LinkedCluster returns the cluster backend, or nil when package cluster
// is not linked in.
func LinkedCluster() Cluster {
	cluster.Lock()
	defer cluster.Unlock()
	return cluster.c
}

// WorkerEnv is the environment variable that makes a program that calls
// mp.Main a worker of the cluster at its value.
const WorkerEnv = "MP_CLUSTER_WORKER"

// ReportEnv names the descriptor of a pipe to the pool that started a
// local worker: a worker that runs the program instead of serving (no
// mp.Main) writes there the call it reached, one line, and exits with
// status ExitNoMain; one that serves closes it.
const (
	ReportEnv  = "MP_CLUSTER_REPORT"
	ExitNoMain = 2
)

// CredsEnv and CAEnv give a worker the files of Config's Creds and CA.
const (
	CredsEnv = "MP_CLUSTER_CREDS"
	CAEnv    = "MP_CLUSTER_CA"
)
