package futex

import (
	"testing"
	"time"
)

// setCost sets the measured wake-up cost for a test, and puts it back
// when the test ends.
func setCost(t *testing.T, d time.Duration) {
	old := wakeCost.Load()
	wakeCost.Store(int64(d))
	t.Cleanup(func() { wakeCost.Store(old) })
}

func TestSpinBudget(t *testing.T) {
	for _, tt := range []struct {
		cost, want time.Duration
	}{
		{0, SpinIdle},                                    // nothing measured yet
		{10 * time.Microsecond, SpinIdle},                // cheap wake-ups: the shortest spin
		{200 * time.Microsecond, 250 * time.Microsecond}, // the cost and a quarter
		{5 * time.Millisecond, SpinMax},                  // bounded
	} {
		setCost(t, tt.cost)
		if got := SpinBudget(); got != tt.want {
			t.Errorf("wake-up cost %v: SpinBudget() = %v, want %v", tt.cost, got, tt.want)
		}
	}
}

func TestWoken(t *testing.T) {
	ms := int64(time.Millisecond)
	for _, tt := range []struct {
		name        string
		cost        time.Duration
		slept, woke int64 // before now
		want        time.Duration
	}{
		{"first measure", 0, 3 * ms, 2 * ms, 2 * time.Millisecond},
		{"a quarter of the way", 400 * time.Microsecond, 3 * ms, 2 * ms, 800 * time.Microsecond}, // 400 + (2000-400)/4
		{"stamp before the sleep: another wake-up's", 400 * time.Microsecond, 2 * ms, 3 * ms, 400 * time.Microsecond},
		{"stamp in the future: nonsense", 400 * time.Microsecond, 2 * ms, -ms, 400 * time.Microsecond},
		{"a sleeper descheduled for long counts as 10×SpinMax", 0, 100 * ms, 90 * ms, 10 * SpinMax},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setCost(t, tt.cost)
			now := Stamp()
			woken(now-tt.slept, now-tt.woke, now)
			if got := WakeCost(); got != tt.want {
				t.Errorf("WakeCost() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSpinLongFollowsTheCost(t *testing.T) {
	var w uint32
	setCost(t, 5*time.Millisecond)
	t0 := time.Now()
	if SpinLong(&w, 0) {
		t.Fatal("SpinLong reported a move on a word nobody wrote")
	}
	if el := time.Since(t0); el < SpinMax {
		t.Fatalf("SpinLong gave up after %v with wake-ups costing 5ms; want SpinMax (%v)", el, SpinMax)
	}
	setCost(t, 0)
	if got := SpinBudget(); got != SpinIdle {
		t.Fatalf("no wake-up measured: SpinBudget() = %v, want SpinIdle", got)
	}
}

func TestStampIsMonotonic(t *testing.T) {
	a := Stamp()
	time.Sleep(time.Millisecond)
	if b := Stamp(); b-a < int64(time.Millisecond) {
		t.Fatalf("Stamp moved %dns over a 1ms sleep", b-a)
	}
}
