//go:build linux

package mp_test

import (
	"context"
	"testing"

	"github.com/mp-go/mp"
)

func BenchmarkQueuePutGet(b *testing.B) {
	q, err := mp.NewQueue[int](0)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Unlink()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		q.Put(ctx, i)
		q.Get(ctx)
	}
}
