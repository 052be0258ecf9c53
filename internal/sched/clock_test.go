package sched

import (
	"testing"
	"time"
)

// Mono readings follow the monotonic clock: they never go back, and the
// time between two is what time.Now measures around them, give or take.
func TestMono(t *testing.T) {
	t0, m0 := time.Now(), Now()
	prev := m0
	for range 1000 {
		m := Now()
		if m < prev {
			t.Fatalf("the clock went back: %d after %d", m, prev)
		}
		prev = m
	}
	time.Sleep(2 * time.Millisecond)
	m1 := Now()
	wall := time.Since(t0)
	if d := m1.Sub(m0); d < 2*time.Millisecond || d > wall {
		t.Fatalf("Sub: %v between readings %v apart (time.Now), at least 2ms asleep", d, wall)
	}
	if d := m0.Since(); d < 2*time.Millisecond {
		t.Fatalf("Since: %v since a reading taken 2ms ago or more", d)
	}
}
