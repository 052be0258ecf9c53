package manager

import (
	"context"
	"net"
	"path/filepath"
	"testing"
)

func BenchmarkInProcessSetGet(b *testing.B) {
	ctx := context.Background()
	s := newServer([]byte("k"), 1<<20)
	addr := filepath.Join(b.TempDir(), "s")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		b.Fatal(err)
	}
	go s.serve(ln)
	defer s.shutdown()
	c := newClient(addr, []byte("k"), 1<<20)
	defer c.close()
	m := &Manager{c: c}
	d, err := NewDict[string, int](ctx, m)
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
	s := newServer([]byte("k"), 1<<26)
	addr := filepath.Join(b.TempDir(), "s")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		b.Fatal(err)
	}
	go s.serve(ln)
	defer s.shutdown()
	c := newClient(addr, []byte("k"), 1<<26)
	defer c.close()
	m := &Manager{c: c}
	d, err := NewDict[string, int](ctx, m)
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
