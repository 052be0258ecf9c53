package worker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/internal/wire"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestTicksAreBatched: a task ticking in a tight loop sends a Tick frame
// at most every TickEvery, and every tick arrives once flushed.
func TestTicksAreBatched(t *testing.T) {
	var mu sync.Mutex
	var frames []wire.Tick
	ctx, sink := StartTicks(context.Background(), 7, func(tk *wire.Tick) error {
		mu.Lock()
		frames = append(frames, *tk)
		mu.Unlock()
		return nil
	})
	tk := sched.TickerFrom(ctx)
	if tk == nil {
		t.Fatal("the task's context carries no Ticker")
	}
	sent := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(frames)
	}
	// Tick for 6 periods, and on until two frames are out: a loaded
	// machine may not run the sender that often in 6 periods (bounded by a
	// minute, then the check below fails).
	start := time.Now()
	var n int64
	for time.Since(start) < 6*TickEvery || sent() < 2 && time.Since(start) < time.Minute {
		tk.Tick(1)
		n++
	}
	elapsed := time.Since(start)
	if err := sink.flush(); err != nil {
		t.Fatal(err)
	}
	tk.Tick(3) // counted, maybe not sent: Close hands back what was not
	unsent := sink.Close()
	mu.Lock()
	defer mu.Unlock()
	var sum int64
	for _, f := range frames {
		if f.Task != 7 {
			t.Errorf("frame for task %d", f.Task)
		}
		sum += f.N
	}
	if sum+unsent != n+3 {
		t.Errorf("frames carry %d ticks and Close returned %d, want %d in all", sum, unsent, n+3)
	}
	if limit := int(elapsed/TickEvery) + 2; len(frames) > limit {
		t.Errorf("%d frames for %d ticks in %v: more than one per %v", len(frames), n, elapsed, TickEvery)
	}
	if len(frames) < 2 {
		t.Errorf("%d frames in %v: ticks were not sent while the task ran", len(frames), elapsed)
	}
}
