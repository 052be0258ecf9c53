package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

var evenFails = mp.Register("cluster-test.evenFails", func(_ context.Context, x int) (int, error) {
	if x%2 == 0 {
		return 0, errors.New("even")
	}
	return x, nil
})

// TestStats: what the pool side of a cluster can know, counted.
func TestStats(t *testing.T) {
	ctx := testCtx(t)
	pool, err := mp.NewPool(mp.Cluster(""), mp.LocalWorkers(2), mp.Threads(4))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := mp.Map(ctx, pool, evenFails, []int{1, 2, 3, 4, 5, 6, 7}, mp.Chunksize(1), mp.Partial()); err == nil {
		t.Fatal("no error")
	}
	// flaky fails the first try of each item in each worker process
	if _, err := mp.Map(ctx, pool, flaky, []int{11, 12, 13}, mp.Retries(1), mp.Chunksize(1)); err != nil {
		t.Fatal(err)
	}
	pool.Join()
	deadline := time.Now().Add(time.Minute)
	s := pool.Stats()
	for s.Idle != 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		s = pool.Stats()
	}
	if s.Backend != "cluster" || s.Workers != 4 || s.Idle != 4 {
		t.Errorf("backend %q, %d workers, %d idle", s.Backend, s.Workers, s.Idle)
	}
	if s.Done != 7 || s.Failed != 3 || s.Cancelled != 0 || s.Queued != 0 || s.Running != 0 {
		t.Errorf("done/failed/cancelled/queued/running %d/%d/%d/%d/%d, want 7/3/0/0/0", s.Done, s.Failed, s.Cancelled, s.Queued, s.Running)
	}
	if s.Retried != 3 || s.Sent != 10 {
		t.Errorf("retried %d, sent %d, want 3 and 10", s.Retried, s.Sent)
	}
	if s.TaskTime <= 0 || s.EncodeTime <= 0 || s.DecodeTime <= 0 {
		t.Errorf("times: task %v, encode %v, decode %v", s.TaskTime, s.EncodeTime, s.DecodeTime)
	}
}
