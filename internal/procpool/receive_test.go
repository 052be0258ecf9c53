package procpool

import "testing"

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
