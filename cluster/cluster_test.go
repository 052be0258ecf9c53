package cluster_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/cluster"
	"github.com/mp-go/mp/internal/proc"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(noMainEnv) != "" {
		os.Exit(noMainRole()) // a program that forgets mp.Main
	}
	mp.Main() // in a worker (MP_CLUSTER_WORKER set), serves tasks and exits
	if url := os.Getenv("MP_TEST_COORDINATOR"); url != "" {
		os.Exit(coordinator(url))
	}
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	slog.SetDefault(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

type out struct {
	Sq  int `cbor:"1,keyasint"`
	PID int `cbor:"2,keyasint"`
}

var square = mp.Register("cluster-test.square", func(_ context.Context, x int) (out, error) {
	return out{x * x, os.Getpid()}, nil
})

type slowArg struct {
	X     int
	Sleep time.Duration
}

var slow = mp.Register("cluster-test.slow", func(_ context.Context, a slowArg) (out, error) {
	time.Sleep(a.Sleep)
	return out{a.X * a.X, os.Getpid()}, nil
})

var crash = mp.Register("cluster-test.crash", func(_ context.Context, x int) (int, error) {
	if x == 3 {
		os.Exit(3) // kills every worker that takes it
	}
	return x, nil
})

var fails = mp.Register("cluster-test.fails", func(_ context.Context, x int) (int, error) {
	if x%2 == 1 {
		return 0, fmt.Errorf("odd %d", x)
	}
	return x, nil
})

// tried counts, in a worker, the tries of each item of flaky.
var tried sync.Map

// flaky fails the first time it sees an item (in a worker process).
var flaky = mp.Register("cluster-test.flaky", func(_ context.Context, x int) (int, error) {
	if _, again := tried.LoadOrStore(x, true); !again {
		return 0, fmt.Errorf("first try of %d", x)
	}
	return x, nil
})

var big = mp.Register("cluster-test.big", func(_ context.Context, b []byte) (int, error) { return len(b), nil })

// pattern is n bytes that differ from place to place.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}

var bigResult = mp.Register("cluster-test.big-result", func(_ context.Context, n int) ([]byte, error) { return pattern(n), nil })

var checksum = mp.Register("cluster-test.checksum", func(_ context.Context, b []byte) ([32]byte, error) { return sha256.Sum256(b), nil })

// Tasks and results over the cluster's message limit (1 MiB) travel
// through the object store, whole; what they stored is gone once their
// calls end and the pool closes.
func TestBigPayloads(t *testing.T) {
	ctx := testCtx(t)
	srv, err := cluster.StartServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	pool, err := mp.NewPool(mp.Cluster(srv.URL()), mp.LocalWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{10, 900 << 10, 2 << 20, 24 << 20} {
		in := pattern(n)
		if sum, err := mp.Apply(ctx, pool, checksum, in); err != nil || sum != sha256.Sum256(in) {
			t.Fatalf("a task of %d bytes: %v (checksum matches: %v)", n, err, sum == sha256.Sum256(in))
		}
		if out, err := mp.Apply(ctx, pool, bigResult, n); err != nil || !bytes.Equal(out, pattern(n)) {
			t.Fatalf("a result of %d bytes: %v (%d bytes back)", n, err, len(out))
		}
	}
	// several big ones at once, in one Map
	items := []int{3 << 20, 10, 2 << 20, 5 << 20}
	outs, err := mp.Map(ctx, pool, bigResult, items, mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if !bytes.Equal(o, pattern(items[i])) {
			t.Fatalf("Map result %d: %d bytes, want %d", i, len(o), items[i])
		}
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	obs, err := js.ObjectStore(ctx, "mp-payloads")
	if err != nil {
		t.Fatalf("the payload bucket: %v", err)
	}
	left := func(prefix string) int {
		n := 0
		infos, _ := obs.List(ctx)
		for _, in := range infos {
			if strings.HasPrefix(in.Name, prefix) {
				n++
			}
		}
		return n
	}
	if n := left("task."); n != 0 {
		t.Errorf("%d task objects left after their calls", n)
	}
	if n := left("result."); n == 0 {
		t.Errorf("no result object while the pool is open: the big results did not go through the object store")
	}
	pool.Close()
	if n := left(""); n != 0 {
		t.Errorf("%d objects left after the pool closed", n)
	}
}

func TestEmbeddedMapTenThousand(t *testing.T) {
	ctx := testCtx(t)
	pool, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if u := pool.ClusterURL(); !strings.HasPrefix(u, "nats://") || !strings.Contains(u, "@127.0.0.1:") {
		t.Fatalf("embedded server URL %q: want loopback, with a token", u)
	}
	tokenless := "nats://" + strings.SplitN(pool.ClusterURL(), "@", 2)[1]
	if nc, err := nats.Connect(tokenless, nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("the embedded server took a connection without its token")
	}
	in := make([]int, 10_000)
	for i := range in {
		in[i] = i
	}
	res, err := mp.Map(ctx, pool, square, in)
	if err != nil {
		t.Fatal(err)
	}
	pids := map[int]bool{}
	for i, r := range res {
		if r.Sq != i*i {
			t.Fatalf("result %d is %d: not in order", i, r.Sq)
		}
		pids[r.PID] = true
	}
	if pids[os.Getpid()] || len(pids) == 0 || len(pids) > 2 {
		t.Fatalf("ran in processes %v (the test is %d)", pids, os.Getpid())
	}

	// The rest of the API on the same pool.
	if v, err := mp.Apply(ctx, pool, square, 7); err != nil || v.Sq != 49 {
		t.Fatalf("Apply = %v, %v", v, err)
	}
	i := 0
	for v, err := range mp.Imap(ctx, pool, square, slices.Values([]int{1, 2, 3, 4, 5}), mp.Chunksize(2)) {
		i++
		if err != nil || v.Sq != i*i {
			t.Fatalf("Imap item %d = %v, %v", i, v, err)
		}
	}
	f := mp.Submit(ctx, pool, square, 9)
	if v, err := f.Get(ctx); err != nil || v.Sq != 81 {
		t.Fatalf("Submit = %v, %v", v, err)
	}
	got, err := mp.Map(ctx, pool, fails, []int{0, 1, 2, 3}, mp.Partial())
	var te *mp.TaskError
	if !errors.As(err, &te) || got[2] != 2 || !strings.Contains(err.Error(), "odd 1") {
		t.Fatalf("task errors: %v, %v", got, err)
	}
}

// startWorker starts this test binary as a worker of the cluster at url.
func startWorker(t *testing.T, url string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = proc.SelfEnv("MP_CLUSTER_WORKER=" + url)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

func TestWorkersComeAndGo(t *testing.T) {
	ctx := testCtx(t)
	srv, err := cluster.StartServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	pool, err := mp.NewPool(mp.Cluster(srv.URL()), mp.AckWait(time.Second), mp.Threads(8))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	a := startWorker(t, srv.URL())
	b := startWorker(t, srv.URL())
	const n = 300
	in := make([]slowArg, n)
	for i := range in {
		in[i] = slowArg{i, 10 * time.Millisecond}
	}
	var mu sync.Mutex
	byPID := map[int]int{}
	results := 0
	killed, added, removed := false, false, false
	var c *exec.Cmd
	for r, err := range mp.ImapUnordered(ctx, pool, slow, slices.Values(in), mp.Chunksize(3)) {
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		byPID[r.PID]++
		results++
		mu.Unlock()
		if results == 30 && !killed {
			killed = true
			a.Process.Kill() // with a task in flight: it is run again elsewhere
		}
		if results == 60 && !added {
			added = true
			c = startWorker(t, srv.URL())
		}
		if results == 150 && !removed {
			removed = true
			b.Process.Signal(syscall.SIGTERM) // finishes its task, then leaves
		}
	}
	if results != n {
		t.Fatalf("%d results for %d items", results, n)
	}
	if byPID[c.Process.Pid] == 0 {
		t.Errorf("the worker added mid-map took no work: %v", byPID)
	}
	if byPID[b.Process.Pid] == 0 {
		t.Errorf("a worker took no work: %v", byPID)
	}
	left := make(chan error, 1)
	go func() { left <- b.Wait() }()
	select {
	case err := <-left:
		if err != nil {
			t.Errorf("the worker removed with SIGTERM: %v", err)
		}
	case <-time.After(time.Minute):
		t.Error("the worker given SIGTERM did not exit within a minute")
	}
	// Map: every item exactly once, in order, after all that.
	res, err := mp.Map(ctx, pool, slow, in[:50], mp.Chunksize(5))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Sq != i*i {
			t.Fatalf("item %d = %d", i, r.Sq)
		}
	}
}

func TestPoisonTaskEnds(t *testing.T) {
	ctx := testCtx(t)
	pool, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(1), mp.AckWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	got, err := mp.Map(ctx, pool, crash, []int{1, 2, 3, 4}, mp.Chunksize(1), mp.Partial())
	if !errors.Is(err, cluster.ErrUndeliverable) {
		t.Fatalf("a task that kills its worker: %v", err)
	}
	// Exact blame: only the task that killed its workers fails, after as
	// many runs as the pool allows (5), not the tasks those workers held
	// without running them.
	if !strings.Contains(err.Error(), "ran 5 times") || strings.Count(err.Error(), "ErrUndeliverable")+strings.Count(err.Error(), "no worker finished") != 1 {
		t.Fatalf("a task that kills its worker: %v", err)
	}
	if got[0] != 1 || got[1] != 2 || got[3] != 4 {
		t.Fatalf("the other items: %v (%v)", got, err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := testCtx(t)
	srv, err := cluster.StartServer(cluster.Token("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	_, err = mp.NewPool(mp.Cluster(srv.URL()))
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("wrong credentials: %v", err)
	}
	u := strings.Replace(srv.URL(), "nats://", "nats://s3cret@", 1)
	pool, err := mp.NewPool(mp.Cluster(u), mp.LocalWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if n, err := mp.Apply(ctx, pool, big, make([]byte, 100)); err != nil || n != 100 {
		t.Fatalf("a small task with a token: %v %v", n, err)
	}
	if _, err := mp.NewPool(mp.Cluster(""), mp.Processes(2)); !errors.Is(err, mp.ErrInvalidOption) {
		t.Fatalf("Cluster with Processes: %v", err)
	}
	if _, err := mp.Apply(ctx, pool, mp.Fn(func(context.Context, int) (int, error) { return 0, nil }), 1); err == nil {
		t.Fatal("a closure on a cluster pool ran")
	}
}

func TestNkeyCredentials(t *testing.T) {
	ctx := testCtx(t)
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	file := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(file, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := cluster.StartServer(cluster.NkeyUsers(pub))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if _, err := mp.NewPool(mp.Cluster(srv.URL())); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("without the nkey: %v", err)
	}
	pool, err := mp.NewPool(mp.Cluster(srv.URL()), mp.ClusterCredentials(file), mp.LocalWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// the local worker authenticated with the same seed
	if v, err := mp.Apply(ctx, pool, square, 5); err != nil || v.Sq != 25 {
		t.Fatalf("with the nkey: %v %v", v, err)
	}
	if _, err := mp.NewPool(mp.Cluster(srv.URL()), mp.ClusterCredentials(filepath.Join(t.TempDir(), "none"))); !errors.Is(err, mp.ErrInvalidOption) {
		t.Fatalf("a missing credentials file: %v", err)
	}
}

func TestTimeoutAndRetries(t *testing.T) {
	ctx := testCtx(t)
	pool, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(2))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	// both workers serving first: the time limit below is for running a
	// task, and a worker still starting on a busy machine takes seconds
	if _, err := mp.Map(ctx, pool, slow, []slowArg{{1, 0}, {2, 0}}, mp.Chunksize(1)); err != nil {
		t.Fatal(err)
	}
	// The worker times the task, not the round trip (which took over 2 s
	// in CI), and reports the late one at its deadline although slow
	// ignores its ctx.
	in := []slowArg{{1, 0}, {2, 30 * time.Second}}
	start := time.Now()
	got, err := mp.Map(ctx, pool, slow, in, mp.Chunksize(1), mp.Timeout(2*time.Second), mp.Partial())
	if !errors.Is(err, mp.ErrTimeout) || got[0].Sq != 1 {
		t.Fatalf("a late task: %v, %v", got, err)
	}
	if d := time.Since(start); d > 25*time.Second {
		t.Fatalf("the late task was reported after %v, when it returned, not at its deadline", d)
	}
	res, err := mp.Map(ctx, pool, flaky, []int{1, 2, 3}, mp.Retries(1))
	if err != nil || !slices.Equal(res, []int{1, 2, 3}) {
		t.Fatalf("Retries(1) of tasks that fail once: %v %v", res, err)
	}
	if _, err := mp.Map(ctx, pool, flaky, []int{4}); err == nil || !strings.Contains(err.Error(), "first try") {
		t.Fatalf("without Retries: %v", err)
	}
}

// sleepy waits 20 s, or until its context ends.
var sleepy = mp.Register("cluster-test.sleepy", func(ctx context.Context, x int) (int, error) {
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(20 * time.Second):
		return x, nil
	}
})

// TestTimeoutCancelsTheRemoteTask: the worker running a task whose call
// timed out cancels the task's context, and is free at once.
func TestTimeoutCancelsTheRemoteTask(t *testing.T) {
	ctx := testCtx(t)
	pool, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := mp.Apply(ctx, pool, sleepy, 1, mp.Timeout(300*time.Millisecond)); !errors.Is(err, mp.ErrTimeout) {
		t.Fatalf("a late task: %v", err)
	}
	start := time.Now()
	if v, err := mp.Apply(ctx, pool, square, 4); err != nil || v.Sq != 16 {
		t.Fatalf("after the timeout: %v %v", v, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the only worker stayed busy %v with the cancelled task", d)
	}
}

func TestCancelledCall(t *testing.T) {
	ctx := testCtx(t)
	pool, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	in := make([]slowArg, 100)
	for i := range in {
		in[i] = slowArg{i, 50 * time.Millisecond}
	}
	start := time.Now()
	_, err = mp.Map(short, pool, slow, in, mp.Chunksize(1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a cancelled map: %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("the cancelled map took %v", time.Since(start))
	}
	// The pool goes on; the deleted tasks do not come back.
	if v, err := mp.Apply(ctx, pool, square, 3); err != nil || v.Sq != 9 {
		t.Fatalf("after a cancelled map: %v %v", v, err)
	}
}
