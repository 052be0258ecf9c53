package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/cluster"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
	"github.com/mp-go/mp/progress"
	"github.com/nats-io/nats.go"
)

// tickArg asks tickHalves for N ticks: half of them, then (after Hold)
// the rest once the file Gate exists.
type tickArg struct {
	Gate string
	N    int
	Hold time.Duration
}

var tickHalves = mp.Register("cluster-test.tickHalves", func(ctx context.Context, a tickArg) (int, error) {
	for range a.N / 2 {
		mp.Tick(ctx, 1)
	}
	time.Sleep(a.Hold)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(a.Gate); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the gate %s did not open: %w", a.Gate, os.ErrDeadlineExceeded)
		}
		time.Sleep(time.Millisecond)
	}
	for range a.N - a.N/2 {
		mp.Tick(ctx, 1)
	}
	return a.N, nil
})

// syncBuf is a bytes.Buffer safe for a progress group's goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tickMsgs are the tick messages the workers of a cluster send, as a
// bystander subscribed to mp.ticks.> sees them.
type tickMsgs struct {
	nc *nats.Conn
	ch chan *nats.Msg // filled by the connection's reader, in order
}

// take counts, per task, the messages the server sent before it answered
// a flush now (every message sent before, as the server received the
// ticks before the results of their task), and the ticks they carry.
func (c *tickMsgs) take(t *testing.T) (perTask map[uint64]int, ticks int64) {
	t.Helper()
	if err := c.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	perTask = map[uint64]int{}
	for {
		select {
		case m := <-c.ch:
			var tk wire.Tick
			if err := wire.Unmarshal(m.Data, &tk); err != nil {
				t.Fatalf("a tick message of %d bytes: %v", len(m.Data), err)
			}
			perTask[tk.Task]++
			ticks += tk.N
		default:
			return perTask, ticks
		}
	}
}

// TestTickMovesTheBarWhileTasksRun: the Ticks of tasks running on cluster
// workers reach the call's bar, its worker bars and Stats.Ticks while the
// tasks run, before their results, batched on the pool's tick subject;
// with the results the count is exact. Without a bar, workers send none.
func TestTickMovesTheBarWhileTasksRun(t *testing.T) {
	ctx := testCtx(t)
	srv, err := cluster.StartServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := &tickMsgs{nc: nc, ch: make(chan *nats.Msg, 1<<14)}
	sub, err := nc.ChanSubscribe("mp.ticks.>", msgs.ch)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	msgs.take(t) // the subscription is in place
	pool, err := mp.NewPool(mp.Cluster(srv.URL()), mp.LocalWorkers(2), mp.Threads(2))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	for _, tt := range []struct {
		name  string
		ticks bool // ProgressTicks, with worker bars: the bars count ticks only
	}{
		{"ticks only, worker bars", true},
		{"items and ticks", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msgs.take(t)
			before := pool.Stats().Ticks
			gate := filepath.Join(t.TempDir(), "gate")
			t.Cleanup(func() { os.WriteFile(gate, nil, 0o600) }) // on failure too: the tasks end
			bar := progress.New(2000, progress.WithMode(progress.Off))
			defer bar.Close()
			var out syncBuf
			g := progress.NewGroup(progress.Writer(&out), progress.WithMode(progress.Plain), progress.PlainInterval(time.Hour))
			opts := []mp.Option{mp.ProgressBar(bar), mp.Chunksize(1)}
			if tt.ticks {
				opts = append(opts, mp.ProgressTicks(), mp.WorkerBars(g))
			}
			items := []tickArg{{Gate: gate, N: 1000}, {Gate: gate, N: 1000}}
			start := time.Now()
			fut := mp.MapAsync(ctx, pool, tickHalves, items, opts...)
			// Both tasks have ticked half and wait for the gate: the bar
			// shows it, from the tick messages alone.
			deadline := time.Now().Add(time.Minute)
			for bar.Count() < 1000 {
				if time.Now().After(deadline) {
					t.Fatalf("the bar shows %d of the 1000 ticks made before the gate (Stats.Ticks %d)", bar.Count(), pool.Stats().Ticks-before)
				}
				time.Sleep(time.Millisecond)
			}
			if fut.Ready() {
				t.Fatal("the call ended before the gate opened")
			}
			if n := bar.Count(); n != 1000 {
				t.Errorf("while the tasks wait the bar shows %d, want 1000", n)
			}
			if n := pool.Stats().Ticks - before; n != 1000 {
				t.Errorf("while the tasks wait Stats.Ticks moved by %d, want 1000", n)
			}
			if err := os.WriteFile(gate, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := fut.Get(ctx); err != nil {
				t.Fatal(err)
			}
			elapsed := time.Since(start)
			want := int64(2000)
			if !tt.ticks {
				want += 2 // the items, as they finish
			}
			if n := bar.Count(); n != want {
				t.Errorf("after the call the bar shows %d, want %d", n, want)
			}
			if n := pool.Stats().Ticks - before; n != 2000 {
				t.Errorf("after the call Stats.Ticks moved by %d, want 2000", n)
			}
			g.Close()
			if tt.ticks {
				// "worker N: <count> it", one line per slot that ran a task
				var sum int64
				lines := strings.Split(strings.TrimSpace(out.String()), "\n")
				for _, l := range lines {
					var id int
					var n int64
					if _, err := fmt.Sscanf(l, "worker %d: %d it", &id, &n); err != nil {
						t.Fatalf("worker bar line %q: %v", l, err)
					}
					sum += n
				}
				if sum != 2000 {
					t.Errorf("worker bars %q add up to %d, want 2000", lines, sum)
				}
			}
			perTask, ticks := msgs.take(t)
			if len(perTask) != 2 || ticks < 1000 || ticks > 2000 {
				t.Errorf("tick messages for %d tasks carrying %d ticks, want 2 tasks and 1000 to 2000 ticks (the rest goes with the results)", len(perTask), ticks)
			}
			for task, n := range perTask {
				if limit := int(elapsed/wk.TickEvery) + 2; n > limit {
					t.Errorf("task %d sent %d tick messages in %v: more than one per %v", task, n, elapsed, wk.TickEvery)
				}
			}
		})
	}

	t.Run("no bar", func(t *testing.T) {
		msgs.take(t)
		before := pool.Stats().Ticks
		gate := filepath.Join(t.TempDir(), "gate")
		if err := os.WriteFile(gate, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		// Each task holds long enough after its first ticks for a worker
		// that counted them to send them.
		hold := 4 * wk.TickEvery
		items := []tickArg{{Gate: gate, N: 1000, Hold: hold}, {Gate: gate, N: 1000, Hold: hold}}
		if _, err := mp.Map(ctx, pool, tickHalves, items, mp.Chunksize(1)); err != nil {
			t.Fatal(err)
		}
		if perTask, ticks := msgs.take(t); len(perTask) != 0 {
			t.Errorf("a call without a bar: its workers sent %d tick messages (%d ticks)", len(perTask), ticks)
		}
		if n := pool.Stats().Ticks - before; n != 0 {
			t.Errorf("a call without a bar: Stats.Ticks moved by %d", n)
		}
	})
}
