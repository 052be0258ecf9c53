package mp_test

import (
	"context"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

// A slot takes the send time of the Tasks it sends right after results
// came from that arrival (one clock read fewer a Task). A later call's
// first Task must not inherit it: the worker idled in between, and the
// idle time counted as the Task's would make the worker look slow (its
// slot then queues fewer Tasks behind the running one, and Imap makes
// its chunks smaller).
func TestTaskTimesLeaveOutIdleTime(t *testing.T) {
	p, err := mp.NewPool(mp.Processes(1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	in := make([]int, 200)
	const gap = 200 * time.Millisecond
	for i := range 4 {
		if i > 0 {
			time.Sleep(gap) // the worker idles: the scenario, not a wait for a condition
		}
		if _, err := mp.Map(ctx, p, square, in, mp.Chunksize(10)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(gap)
	if _, err := mp.Apply(ctx, p, square, 3); err != nil { // its one Task is the last timed
		t.Fatal(err)
	}
	p.Join()
	times := mp.RecentTaskTimes(p)
	if len(times) != 1 {
		t.Fatalf("%d worker processes' task times, want 1", len(times))
	}
	// Tasks of at most 10 trivial items take microseconds; the last one,
	// had it taken the gap, would have added gap/8 to the running average.
	if times[0] <= 0 || times[0] >= gap/16 {
		t.Fatalf("recent task time %v after calls %v apart, want microseconds: the idle time was counted", times[0], gap)
	}
}
