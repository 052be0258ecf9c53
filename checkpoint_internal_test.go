package mp

import (
	"context"
	"testing"
)

var cpIdentity = Register("test.cpIdentity", func(_ context.Context, x int) (int, error) { return x, nil })

// A checkpointed call that fails before its chunks are queued (a closed
// pool) lets its store go: nothing stays open or locked.
func TestCheckpointReleasedWhenNothingQueued(t *testing.T) {
	p, err := NewPool(Threads(1))
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := Map(context.Background(), p, cpIdentity, []int{1, 2}, Checkpoint(t.TempDir())); err == nil {
		t.Fatal("Map on a closed pool succeeded")
	}
	openStores.Lock()
	n := len(openStores.m)
	openStores.Unlock()
	if n != 0 {
		t.Fatalf("%d checkpoint stores still open", n)
	}
}
