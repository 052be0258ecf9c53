package manager

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/mp-go/mp/manager/internal/server"
)

// inProcess starts a server in this process and returns a Manager of it
// (no child process: the benchmarks then profile both sides).
func inProcess(b *testing.B) *Manager {
	lim, _ := Limits{}.withDefaults()
	s := server.New([]byte("k"), 1<<26, server.Limits(lim))
	addr := filepath.Join(b.TempDir(), "s")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(ln)
	c := newClient(addr, []byte("k"), 1<<26)
	b.Cleanup(func() {
		c.close()
		s.Shutdown()
	})
	return &Manager{c: c}
}

func BenchmarkInProcessSetGet(b *testing.B) {
	ctx := context.Background()
	d, err := NewDict[string, int](ctx, inProcess(b))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		d.Set(ctx, "k", i)
		d.Get(ctx, "k")
	}
}

func BenchmarkInProcessBatch(b *testing.B) {
	ctx := context.Background()
	d, err := NewDict[string, int](ctx, inProcess(b))
	if err != nil {
		b.Fatal(err)
	}
	items := map[string]int{}
	var keys []string
	for i := range 1000 {
		k := "k" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		items[k] = i
		keys = append(keys, k)
	}
	for b.Loop() {
		d.SetMany(ctx, items)
		d.GetMany(ctx, keys)
	}
}
