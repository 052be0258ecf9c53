package futex

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestParseRunning(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"0.50 0.40 0.30 3/171 4242\n", 3, true},
		{"18.45 10.12 5.77 20/194 18234", 20, true},
		{"0.50 0.40 0.30", 0, false},
		{"0.50 0.40 0.30 x/171 1", 0, false},
		{"0.50 0.40 0.30 171 1", 0, false},
		{"", 0, false},
	} {
		got, ok := parseRunning([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("parseRunning(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestRunningTasksOnThisMachine(t *testing.T) {
	n, ok := runningTasks()
	if !ok {
		t.Skip("no /proc/loadavg here")
	}
	if n < 1 { // this test is running
		t.Fatalf("runningTasks() = %d, want at least 1 (this test runs)", n)
	}
}

// The gauge follows the running tasks against the cores, through a moving
// average, sampling at most every loadEvery.
func TestLoadGauge(t *testing.T) {
	for _, c := range []struct {
		name    string
		samples []int
		want    bool
	}{
		{"idle", []int{1, 1, 2, 1}, false},
		{"both sides of a ring spinning on 2 cores", []int{2, 2, 2, 2}, false},
		{"a blip does not make it crowded", []int{2, 2, 2, 4}, false},
		{"a ring's sides and the runtime's thread beside them", []int{3, 3, 2, 3}, false},
		{"a ring beside a hog on one core", []int{3, 4, 3, 3}, false},
		{"a hog on every core", []int{4, 5, 4, 4}, true},
		{"a hog on every core, the ring asleep", []int{4, 4, 4, 4}, true},
		{"crowded from the first sample", []int{6}, true},
		{"the crowd goes", []int{6, 6, 1, 1, 1, 1, 1, 1}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			g := &loadGauge{cpus: 2, sample: func() (int, bool) {
				n := c.samples[min(calls, len(c.samples)-1)]
				calls++
				return n, true
			}}
			now := int64(1)
			var got bool
			for range c.samples {
				got = g.crowded(now)
				g.crowded(now + 1) // within loadEvery: no new sample
				now += int64(loadEvery)
			}
			if calls != len(c.samples) {
				t.Errorf("%d samples taken, want %d (one per loadEvery)", calls, len(c.samples))
			}
			if got != c.want {
				t.Errorf("crowded = %v after %v on 2 cores, want %v", got, c.samples, c.want)
			}
			want := SpinIdle
			if c.want {
				want = SpinCrowded
			}
			if d := g.budget(now - 1); d != want {
				t.Errorf("spin budget %v after %v on 2 cores, want %v", d, c.samples, want)
			}
		})
	}
}

func TestLoadGaugeUnknown(t *testing.T) {
	g := &loadGauge{cpus: 1, sample: func() (int, bool) { return 0, false }}
	if g.crowded(1) {
		t.Fatal("crowded with the run queue unknown; want false (spin as on an idle machine)")
	}
}

func TestSpinFor(t *testing.T) {
	var w uint32
	t0 := time.Now()
	if spinFor(&w, 0, 200*time.Microsecond) {
		t.Fatal("spinFor reported a move on a word nobody wrote")
	}
	if el := time.Since(t0); el < 200*time.Microsecond {
		t.Fatalf("spinFor gave up after %v, before its 200µs", el)
	}
	if !spinFor(&w, 1, time.Hour) {
		t.Fatal("spinFor on a word already past seq: want true at once")
	}
	done := make(chan bool)
	go func() { done <- spinFor(&w, 0, time.Minute) }()
	atomic.StoreUint32(&w, 1)
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("spinFor missed the word's move")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("spinFor did not see the word move within 30s")
	}
}
