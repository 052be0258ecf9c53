package mp_test

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
	"github.com/mp-go/mp/progress"
)

// tickArg asks tickHalves for N ticks: half of them, then the rest once
// the file Gate exists.
type tickArg struct {
	Gate string
	N    int
}

var tickHalves = mp.Register("test.tickHalves", func(ctx context.Context, a tickArg) (int, error) {
	for range a.N / 2 {
		mp.Tick(ctx, 1)
	}
	deadline := time.Now().Add(long)
	for {
		if _, err := os.Stat(a.Gate); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, os.ErrDeadlineExceeded
		}
		time.Sleep(time.Millisecond)
	}
	for range a.N - a.N/2 {
		mp.Tick(ctx, 1)
	}
	return a.N, nil
})

func TestTickMovesTheBarWhileTasksRun(t *testing.T) {
	for _, tt := range []struct {
		name  string
		pool  mp.PoolOption
		ticks bool // ProgressTicks: the bar counts ticks only
	}{
		{"threads", mp.Threads(4), true},
		{"processes", mp.Processes(4), true},
		{"threads, items and ticks", mp.Threads(4), false},
		{"processes, items and ticks", mp.Processes(4), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.pool)
			gate := filepath.Join(t.TempDir(), "gate")
			bar := progress.New(4000, progress.WithMode(progress.Off))
			defer bar.Close()
			items := []tickArg{{gate, 1000}, {gate, 1000}, {gate, 1000}, {gate, 1000}}
			opts := []mp.Option{mp.ProgressBar(bar), mp.Chunksize(1)}
			if tt.ticks {
				opts = append(opts, mp.ProgressTicks())
			}
			fut := mp.MapAsync(context.Background(), p, tickHalves, items, opts...)
			// Every task has ticked half and waits: the bar shows it.
			deadline := time.Now().Add(long)
			for bar.Count() < 2000 {
				if time.Now().After(deadline) {
					t.Fatalf("the bar shows %d of the 2000 ticks made before the gate", bar.Count())
				}
				time.Sleep(time.Millisecond)
			}
			if fut.Ready() {
				t.Fatal("the call ended before the gate opened")
			}
			if n := bar.Count(); n != 2000 {
				t.Errorf("while the tasks wait the bar shows %d, want 2000", n)
			}
			if err := os.WriteFile(gate, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := fut.Get(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := int64(4000)
			if !tt.ticks {
				want += 4 // the items, as they finish
			}
			if n := bar.Count(); n != want {
				t.Errorf("after the call the bar shows %d, want %d", n, want)
			}
			if s := p.Stats(); s.Ticks != 4000 {
				t.Errorf("Stats.Ticks = %d, want 4000", s.Ticks)
			}
		})
	}
}

func TestTickWithoutABarDoesNothing(t *testing.T) {
	for _, opt := range []mp.PoolOption{mp.Threads(2), mp.Processes(2)} {
		p := newPool(t, opt)
		gate := filepath.Join(t.TempDir(), "gate")
		os.WriteFile(gate, nil, 0o600)
		if _, err := mp.Map(context.Background(), p, tickHalves, []tickArg{{gate, 10}, {gate, 10}}); err != nil {
			t.Fatal(err)
		}
		if s := p.Stats(); s.Ticks != 0 {
			t.Errorf("%s: Stats.Ticks = %d without a bar", s.Backend, s.Ticks)
		}
	}
	mp.Tick(context.Background(), 1) // outside a task: nothing, no panic
}

// syncBuf is a bytes.Buffer safe for the group's drawing goroutine.
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

func TestTickWorkerBars(t *testing.T) {
	for _, tt := range []struct {
		name  string
		pool  mp.PoolOption
		ticks bool
	}{
		{"threads", mp.Threads(2), true},
		{"processes", mp.Processes(2), true},
		{"threads, items and ticks", mp.Threads(2), false},
		{"processes, items and ticks", mp.Processes(2), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.pool)
			gate := filepath.Join(t.TempDir(), "gate")
			os.WriteFile(gate, nil, 0o600)
			var out syncBuf
			g := progress.NewGroup(progress.Writer(&out), progress.WithMode(progress.Plain), progress.PlainInterval(time.Hour))
			opts := []mp.Option{mp.WorkerBars(g), mp.Chunksize(1)}
			if tt.ticks {
				opts = append(opts, mp.ProgressTicks())
			}
			items := []tickArg{{gate, 100}, {gate, 200}, {gate, 300}, {gate, 400}}
			if _, err := mp.Map(context.Background(), p, tickHalves, items, opts...); err != nil {
				t.Fatal(err)
			}
			g.Close()
			// The group's last lines: "worker N: <count> it [...]", one per
			// worker that ran items.
			var sum int64
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			for _, l := range lines {
				var id int
				var n int64
				if _, err := fmt.Sscanf(l, "worker %d: %d it", &id, &n); err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				sum += n
			}
			want := int64(1000)
			if !tt.ticks {
				want += 4
			}
			if sum != want || len(lines) < 1 || len(lines) > 2 {
				t.Errorf("worker bars %q add up to %d, want %d", lines, sum, want)
			}
		})
	}
}
