package procpool

import (
	"context"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name  string
		jobs  int // in the chain, the head's included
		items int // in the head's Task
		want  bool
	}{
		{"Apply: one item, nothing behind", 1, 1, true},
		{"a chunk", 1, 1000, false},
		{"one-item Tasks queued behind", 5, 1, false},
		{"chunks queued behind", 3, 100, false},
	} {
		c := &chain{jobs: make([]*flight, tt.jobs)}
		if got := c.roundTrip(tt.items); got != tt.want {
			t.Errorf("%s: roundTrip = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Each context a chain hooks gets its own number, a cancellable one or
// not, and so does each run of a kept chain: a hook whose function was
// already running when it was unhooked (its context cancelled just as its
// task ended) compares its number with the one being received and must
// not find it again, or it kills the worker running another call's task.
func TestHookNumbersEveryContext(t *testing.T) {
	c := &chain{}
	a, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := map[uint64]string{}
	for _, step := range []struct {
		name string
		ctx  context.Context
	}{
		{"a cancellable context", a},
		{"context.Background after it", context.Background()},
		{"the cancellable one again", a},
		{"a kept chain's next run", nil},
		{"context.Background in it", context.Background()},
	} {
		if step.ctx == nil {
			c.hooked, c.unhook = nil, nil // as keep leaves it
			continue
		}
		c.hook(step.ctx)
		if prev, ok := seen[c.hookGen]; ok {
			t.Fatalf("%s: hook number %d, as for %s", step.name, c.hookGen, prev)
		}
		seen[c.hookGen] = step.name
		if c.unhook != nil {
			c.unhook()
			c.unhook = nil
		}
	}
}
