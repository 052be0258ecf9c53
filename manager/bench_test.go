package manager_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mp-go/mp/manager"
)

// BenchmarkDictSetGet is one Set and one Get, from this process, on a
// dict of a manager server (a child process): two round trips.
func BenchmarkDictSetGet(b *testing.B) {
	ctx := context.Background()
	m, err := manager.Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Shutdown(ctx)
	d, _ := manager.NewDict[string, int](ctx, m)
	for i := 0; b.Loop(); i++ {
		if err := d.Set(ctx, "k", i); err != nil {
			b.Fatal(err)
		}
		if _, _, err := d.Get(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDictBatch is SetMany of 1000 items and GetMany of them back,
// from this process, on a dict of a manager server (a child process).
func BenchmarkDictBatch(b *testing.B) {
	ctx := context.Background()
	m, err := manager.Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Shutdown(ctx)
	d, _ := manager.NewDict[string, int](ctx, m)
	items := map[string]int{}
	var keys []string
	for i := range 1000 {
		k := fmt.Sprint("k", i)
		items[k] = i
		keys = append(keys, k)
	}
	for b.Loop() {
		if err := d.SetMany(ctx, items); err != nil {
			b.Fatal(err)
		}
		if _, _, err := d.GetMany(ctx, keys); err != nil {
			b.Fatal(err)
		}
	}
}
