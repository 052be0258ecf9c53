package mp

import "testing"

// The default chunk size: Python's len/(4·workers) (Lib/multiprocessing/
// pool.py, Pool._map_async), over the workers of a local pool and over a
// quarter of a cluster pool's tasks in flight.
func TestDefaultChunksize(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		cluster bool
		items   int
		want    int
	}{
		{"4 workers, Python's example", 4, false, 1000, 63},
		{"fewer items than workers", 8, false, 3, 1},
		{"exact", 2, false, 800, 100},
		{"cluster, default 512 in flight", 512, true, 100_000, 196},
		{"cluster, Threads(64)", 64, true, 100_000, 1563},
		{"cluster, Threads(2)", 2, true, 10, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Pool{n: tt.workers, defs: settings{cluster: tt.cluster}}
			if got := autoChunksize(tt.items, p.spread()); got != tt.want {
				t.Errorf("chunk size of %d items = %d, want %d", tt.items, got, tt.want)
			}
		})
	}
}
