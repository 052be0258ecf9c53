package futex

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestSpinFor(t *testing.T) {
	var w uint32
	t0 := time.Now()
	if spinFor(&w, 0, 200*time.Microsecond) {
		t.Fatal("spinFor reported a move on a word nobody wrote")
	}
	if el := time.Since(t0); el < 200*time.Microsecond {
		t.Fatalf("spinFor gave up after %v, before its 200µs", el)
	}
	if !spinFor(&w, 1, time.Hour) {
		t.Fatal("spinFor on a word already past seq: want true at once")
	}
	done := make(chan bool)
	go func() { done <- spinFor(&w, 0, time.Minute) }()
	atomic.StoreUint32(&w, 1)
	select {
	case ok := <-done:
		if !ok {
			t.Fatal("spinFor missed the word's move")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("spinFor did not see the word move within 30s")
	}
}
