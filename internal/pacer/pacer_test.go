package pacer

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor polls cond until it holds, failing with what after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", limit, what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func TestZeroDue(t *testing.T) {
	var d Due
	if d.Now() {
		t.Fatal("a Due never started is due")
	}
	d.Set()
	if !d.Now() {
		t.Fatal("Set did not make a batch due")
	}
	d.Sent()
	if d.Now() {
		t.Fatal("due again right after Sent")
	}
	d.Stop() // harmless
}

func TestStartedDue(t *testing.T) {
	var d Due
	d.Start()
	waitFor(t, 10*time.Second, "no beat made a started Task's batch due", d.Now)
	d.Sent()
	if d.Now() && proc.beat.Load() == d.seen {
		t.Fatal("due right after Sent, with no beat since")
	}
	waitFor(t, 10*time.Second, "no second beat", d.Now)
	d.Set()
	d.Stop()
	if !d.Now() {
		t.Fatal("Set is lost by Stop")
	}
	waitFor(t, 10*time.Second, "the clock did not stop once no Task ran", func() bool { return !proc.running.Load() })
}

// TestClockStopsAndStarts starts and stops Tasks on a fast clock that
// stops after two idle beats, so that Tasks often start just as it
// stops: each must still see beats (a Task left without a clock would
// send its batches only at its end).
func TestClockStopsAndStarts(t *testing.T) {
	c := &clock{every: 20 * time.Microsecond, idle: 2}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 300 {
				var d Due
				d.start(c)
				for end := time.Now().Add(10 * time.Second); !d.Now(); {
					if time.Now().After(end) {
						t.Errorf("goroutine %d, Task %d: no beat in 10s (clock running: %v)", g, i, c.running.Load())
						d.Stop()
						return
					}
					time.Sleep(10 * time.Microsecond)
				}
				d.Stop()
				time.Sleep(time.Duration(rng.IntN(150)) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	waitFor(t, 10*time.Second, "the clock did not stop once no Task ran", func() bool { return !c.running.Load() })
	if n := c.active.Load(); n != 0 {
		t.Fatalf("%d Tasks counted running after all stopped", n)
	}
}

// TestStartAsClockStops starts a Task at the worst moment: the clock has
// seen no Task and decided to stop, and the Task sees it still running.
// The clock must beat on for it.
func TestStartAsClockStops(t *testing.T) {
	c := &clock{every: 100 * time.Microsecond, idle: 1}
	var d Due
	started := make(chan struct{})
	c.stopping = func() {
		c.stopping = nil // once
		d.start(c)
		close(started)
	}
	var first Due
	first.start(c)
	first.Stop() // the clock now stops after one idle beat
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the clock did not come to stop in 10s")
	}
	seen := c.beat.Load()
	waitFor(t, 10*time.Second, "a Task started as the clock stopped saw no beat", func() bool { return c.beat.Load() > seen+1 })
	d.Stop()
	waitFor(t, 10*time.Second, "the clock did not stop once no Task ran", func() bool { return !c.running.Load() })
}

// A nil *Due, a Task's that needs no clock and no Set, is never due, and
// Sent does nothing to it.
func TestNilDue(t *testing.T) {
	var d *Due
	if d.Now() {
		t.Fatal("a nil Due is due")
	}
	d.Sent()
	if d.Now() {
		t.Fatal("a nil Due is due after Sent")
	}
}
