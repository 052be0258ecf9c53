//go:build linux

package mp_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mp-go/mp"
)

// editList changes a ShareableList in a child process.
var editList = mp.Register("test.editList", func(_ context.Context, l *mp.ShareableList) (int, error) {
	for _, kv := range []struct {
		i int
		v any
	}{{0, 42}, {1, nil}, {3, "howdy"}, {4, []byte("xyz")}, {5, 2.5}} {
		if err := l.Set(kv.i, kv.v); err != nil {
			return 0, err
		}
	}
	return l.Len(), nil
})

// CPython: _TestSharedMemory.test_shared_memory_ShareableList_basics
// (kinds, index, count, room of str and bytes items, changes seen by
// another process).
func TestShareableList(t *testing.T) {
	ctx := context.Background()
	l, err := mp.NewShareableList([]any{1, 2.5, true, "hello", []byte{1, 2}, nil, int64(-7), "hello"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlink()
	want := []any{1, 2.5, true, "hello", []byte{1, 2}, nil, -7, "hello"}
	check := func(what string) {
		t.Helper()
		if l.Len() != len(want) {
			t.Fatalf("%s: Len %d, want %d", what, l.Len(), len(want))
		}
		for i, w := range want {
			got, err := l.Get(i)
			if err != nil {
				t.Fatalf("%s: Get(%d): %v", what, i, err)
			}
			if b, ok := w.([]byte); ok {
				if gb, ok := got.([]byte); !ok || !bytes.Equal(gb, b) {
					t.Errorf("%s: item %d = %#v, want %#v", what, i, got, w)
				}
				continue
			}
			if got != w {
				t.Errorf("%s: item %d = %#v (%T), want %#v (%T)", what, i, got, got, w, w)
			}
		}
	}
	check("made")
	if i, err := l.Index("hello"); i != 3 || err != nil {
		t.Errorf(`Index("hello") = %d, %v`, i, err)
	}
	if n := l.Count("hello"); n != 2 {
		t.Errorf(`Count("hello") = %d`, n)
	}
	if i, err := l.Index(1.0); i != 0 || err != nil { // 1 == 1.0, as in Python
		t.Errorf("Index(1.0) = %d, %v", i, err)
	}
	if _, err := l.Index("absent"); err == nil {
		t.Error("Index of an absent value: no error")
	}
	if err := l.Set(3, "a string longer than the room of its slot"); err == nil {
		t.Error("a string longer than its slot accepted")
	}
	if err := l.Set(0, "x"); err == nil {
		t.Error("a string in a slot made for an int accepted")
	}
	if err := l.Set(9, 1); err == nil {
		t.Error("an index out of range accepted")
	}
	if err := l.Set(2, struct{}{}); err == nil {
		t.Error("a struct accepted")
	}
	if _, err := mp.NewShareableList([]any{map[string]int{}}); err == nil {
		t.Error("a map accepted")
	}

	p, err := mp.NewProcess(editList, l)
	startProcess(t, p, err)
	within(t, "Join", func() { err = p.Join(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	want = []any{42, nil, true, "howdy", []byte("xyz"), 2.5, -7, "hello"}
	check("after the child")
	if n := l.Count(nil); n != 1 {
		t.Errorf("Count(nil) = %d", n)
	}
	empty, err := mp.NewShareableList(nil)
	if err != nil || empty.Len() != 0 {
		t.Fatalf("an empty list: %v", err)
	}
	empty.Unlink()
}
