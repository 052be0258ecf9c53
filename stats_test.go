package mp_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// statsItems are the items of the Stats tests: failing fails 2 and 4.
var statsItems = []int{0, 1, 2, 3, 4, 5, 6, 7}

// wantCounts checks the item counts of s.
func wantCounts(t *testing.T, s mp.Stats, done, failed, cancelled int64) {
	t.Helper()
	if s.Done != done || s.Failed != failed || s.Cancelled != cancelled || s.Queued != 0 || s.Running != 0 {
		t.Errorf("done/failed/cancelled/queued/running = %d/%d/%d/%d/%d, want %d/%d/%d/0/0 (%+v)",
			s.Done, s.Failed, s.Cancelled, s.Queued, s.Running, done, failed, cancelled, s)
	}
}

// waitIdle waits until every worker of p is idle, and those replaced
// gone, as Stats shows it.
func waitIdle(t *testing.T, p *mp.Pool) mp.Stats {
	t.Helper()
	p.Join()
	deadline := time.Now().Add(long)
	for {
		s := p.Stats()
		if s.Idle == p.Workers() && len(s.PerWorker) == p.Workers() { // a replaced worker may still be stopping
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers not idle within %v: %+v", long, s)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStatsCountsEveryItemOnce(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opts    []mp.PoolOption
		backend string
	}{
		{"threads", []mp.PoolOption{mp.Threads(2)}, "threads"},
		{"processes", []mp.PoolOption{mp.Processes(2)}, "processes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.opts...)
			ctx := context.Background()
			s := p.Stats()
			if s.Backend != tt.backend || s.Workers != 2 || len(s.PerWorker) != 2 {
				t.Fatalf("new pool: %+v", s)
			}
			// Partial: every item runs; 2 and 4 fail, each after one retry.
			_, err := mp.Map(ctx, p, failing, statsItems, mp.Partial(), mp.Retries(1), mp.Chunksize(2))
			if err == nil {
				t.Fatal("no error")
			}
			s = waitIdle(t, p)
			wantCounts(t, s, 6, 2, 0)
			if s.Retried != 2 {
				t.Errorf("Retried = %d, want 2 (items 2 and 4, once each)", s.Retried)
			}
			// Without Partial the call stops after item 2: items of the
			// chunks after it are never started.
			_, err = mp.Map(ctx, p, failing, statsItems, mp.Chunksize(1))
			if err == nil {
				t.Fatal("no error")
			}
			s = waitIdle(t, p)
			if got := s.Done + s.Failed + s.Cancelled; got != 16 || s.Failed < 3 || s.Done < 8 {
				t.Errorf("after a stopped call: done/failed/cancelled = %d/%d/%d: want 16 items, items 2 failing and 0, 1 done", s.Done, s.Failed, s.Cancelled)
			}
			// Submit: one item each.
			if _, err := mp.Apply(ctx, p, failing, 1); err != nil {
				t.Fatal(err)
			}
			if _, err := mp.Apply(ctx, p, failing, 2); err == nil {
				t.Fatal("no error")
			}
			s2 := waitIdle(t, p)
			if s2.Done != s.Done+1 || s2.Failed != s.Failed+1 {
				t.Errorf("Apply: done %d→%d, failed %d→%d, want one more of each", s.Done, s2.Done, s.Failed, s2.Failed)
			}
			var tasks int64
			for _, w := range s2.PerWorker {
				tasks += w.Tasks
				if w.Status != mp.WorkerIdle {
					t.Errorf("worker %d is %v", w.ID, w.Status)
				}
			}
			if ran := s2.Done + s2.Failed; tasks != ran {
				t.Errorf("per-worker tasks add up to %d, want %d", tasks, ran)
			}
			if s2.TaskTime <= 0 || s2.WaitTime <= 0 || s2.Uptime < s2.TaskTime/2 {
				t.Errorf("times: task %v wait %v uptime %v", s2.TaskTime, s2.WaitTime, s2.Uptime)
			}
			if tt.backend == "processes" && (s2.Sent == 0 || s2.EncodeTime <= 0 || s2.DecodeTime <= 0) {
				t.Errorf("a process pool: sent %d, encode %v, decode %v", s2.Sent, s2.EncodeTime, s2.DecodeTime)
			}
			if tt.backend == "threads" && s2.Sent != 0 {
				t.Errorf("goroutines sent %d tasks", s2.Sent)
			}
			// A worker process still running an item of the stopped call
			// is killed (Cancel), nothing else.
			if r := s2.Restarts; r.Total() != r.Cancel || (tt.backend == "threads" && r.Cancel != 0) {
				t.Errorf("restarts: %+v", s2.Restarts)
			}
		})
	}
}

func TestStatsWorkerCrash(t *testing.T) {
	p := newPool(t, mp.Processes(2))
	// die kills its worker process at item 3: it fails, the worker is
	// replaced, the others run.
	_, err := mp.Map(context.Background(), p, die, []int{1, 2, 3, 4, 5}, mp.Partial(), mp.Chunksize(1))
	var we *mp.WorkerError
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a *WorkerError", err)
	}
	s := waitIdle(t, p)
	wantCounts(t, s, 4, 1, 0)
	// The pool may run the item again once, one result at a time, to
	// find the item that kills: one or two crashes, nothing else.
	if c := s.Restarts.Crash; c < 1 || c > 2 || s.Restarts.Total() != c {
		t.Errorf("restarts %+v, want one or two crashes", s.Restarts)
	}
	if len(s.PerWorker) != 2 {
		t.Errorf("%d workers listed, want 2", len(s.PerWorker))
	}
}

func TestStatsRecycle(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  mp.PoolOption
	}{
		{"threads", mp.Threads(1)},
		{"processes", mp.Processes(1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.opt, mp.MaxTasksPerChild(2))
			if _, err := mp.Map(context.Background(), p, square, ints(6), mp.Chunksize(1)); err != nil {
				t.Fatal(err)
			}
			s := waitIdle(t, p)
			wantCounts(t, s, 6, 0, 0)
			if s.Restarts.Recycle != 3 || s.Restarts.Total() != 3 {
				t.Errorf("restarts %+v, want 3 recycles", s.Restarts)
			}
			if len(s.PerWorker) != 1 || s.PerWorker[0].ID != 4 {
				t.Errorf("workers %+v, want worker 4 alone", s.PerWorker)
			}
		})
	}
}

func TestStatsTimeout(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  mp.PoolOption
	}{
		{"threads", mp.Threads(2)},
		{"processes", mp.Processes(2)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.opt)
			_, err := mp.Map(context.Background(), p, sleepy, []int{1, 3000}, mp.Timeout(300*time.Millisecond), mp.Partial(), mp.Chunksize(1))
			if !errors.Is(err, mp.ErrTimeout) {
				t.Fatalf("err = %v", err)
			}
			s := waitIdle(t, p)
			wantCounts(t, s, 1, 1, 0)
			if s.TimedOut != 1 {
				t.Errorf("TimedOut = %d, want 1", s.TimedOut)
			}
		})
	}
}

func TestStatsWhileRunning(t *testing.T) {
	p := newPool(t, mp.Threads(2))
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(2)
	block := mp.Fn(func(ctx context.Context, x int) (int, error) {
		if x < 2 {
			started.Done()
		}
		<-release
		return x, nil
	})
	fut := mp.MapAsync(context.Background(), p, block, ints(10), mp.Chunksize(1))
	started.Wait()
	s := p.Stats()
	if s.Busy != 2 || s.Idle != 0 || s.Running != 2 || s.Queued != 8 {
		t.Errorf("while two items block: busy %d idle %d running %d queued %d, want 2 0 2 8", s.Busy, s.Idle, s.Running, s.Queued)
	}
	close(release)
	if _, err := fut.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, waitIdle(t, p), 10, 0, 0)
	p.Close()
	if s := p.Stats(); s.Done != 10 || len(s.PerWorker) != 0 {
		t.Errorf("after Close: %+v", s)
	}
}

func TestStatsCancelled(t *testing.T) {
	p := newPool(t, mp.Threads(1))
	release := make(chan struct{})
	block := mp.Fn(func(ctx context.Context, x int) (int, error) {
		<-release
		return x, nil
	})
	running := mp.Submit(context.Background(), p, block, 0)
	queued := mp.Submit(context.Background(), p, block, 1)
	if !queued.Cancel() {
		t.Fatal("Cancel of a queued task failed")
	}
	fut := mp.MapAsync(context.Background(), p, block, ints(5), mp.Chunksize(1))
	close(release)
	running.Get(context.Background())
	fut.Get(context.Background())
	wantCounts(t, waitIdle(t, p), 6, 0, 1)
}

func TestStatsTerminated(t *testing.T) {
	p := newPool(t, mp.Threads(1))
	started := make(chan struct{})
	block := mp.Fn(func(ctx context.Context, x int) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, context.Cause(ctx)
	})
	fut := mp.MapAsync(context.Background(), p, block, ints(4), mp.Chunksize(1))
	<-started
	p.Terminate()
	if _, err := fut.Get(context.Background()); err == nil {
		t.Fatal("no error")
	}
	s := p.Stats()
	if s.Done+s.Failed+s.Cancelled != 4 || s.Queued != 0 || s.Running != 0 || s.Failed > 1 {
		t.Errorf("after Terminate: %+v, want 4 items failed (the one running) or cancelled", s)
	}
}
