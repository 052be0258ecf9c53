//go:build linux

package mp_test

import (
	"context"
	"slices"
	"testing"

	"github.com/mp-go/mp"
)

// doubleAll doubles every element under the array's lock.
var doubleAll = mp.Register("test.doubleAll", func(ctx context.Context, a *mp.Array[float64]) (int, error) {
	return a.Len(), a.Update(ctx, func(s []float64) {
		for i := range s {
			s[i] *= 2
		}
	})
})

// CPython: _TestArray.test_array (Array from a sequence, changed by a
// child) and test_rawarray; _TestValue.test_value (an initial value).
func TestArrayFromSlice(t *testing.T) {
	ctx := context.Background()
	in := []float64{1, 2.5, -3, 4}
	a, err := mp.NewArrayFrom(in)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlink()
	if !slices.Equal(a.Slice(), in) {
		t.Fatalf("NewArrayFrom: %v, want %v", a.Slice(), in)
	}
	in[0] = 100 // a copy: the caller's slice is not shared
	if a.Slice()[0] != 1 {
		t.Error("NewArrayFrom shares the caller's slice")
	}
	p, err := mp.NewProcess(doubleAll, a)
	startProcess(t, p, err)
	within(t, "Join", func() { err = p.Join(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{2, 5, -6, 8}; !slices.Equal(a.Slice(), want) {
		t.Errorf("after the child: %v, want %v", a.Slice(), want)
	}

	r, err := mp.NewRawArrayFrom([]int32{7, 8, 9})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Unlink()
	if !slices.Equal(r.Slice(), []int32{7, 8, 9}) {
		t.Errorf("NewRawArrayFrom: %v", r.Slice())
	}
	e, err := mp.NewArrayFrom([]int64{})
	if err != nil || e.Len() != 0 {
		t.Errorf("an empty array: %v, %v", e, err)
	}
	if e != nil {
		e.Unlink()
	}
	if _, err := mp.NewArrayFrom([]string{"x"}); err == nil {
		t.Error("an array of strings accepted (shared memory holds no pointers)")
	}
}
