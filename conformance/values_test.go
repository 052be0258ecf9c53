//go:build linux

package conformance

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/mp-go/mp"
)

// valueSet is _TestValue.codes_values: 'i', 'd', 'h', 'q', 'c'.
type valueSet struct {
	I *mp.Value[int32]
	D *mp.Value[float64]
	H *mp.Value[int16]
	Q *mp.Value[int64]
	C *mp.Value[byte]
}

type rawValueSet struct {
	I *mp.RawValue[int32]
	D *mp.RawValue[float64]
	H *mp.RawValue[int16]
	Q *mp.RawValue[int64]
	C *mp.RawValue[byte]
}

var (
	// setValues is _TestValue._test: sv.value = cv[2].
	setValues = mp.Register("conf.setValues", func(ctx context.Context, v valueSet) (struct{}, error) {
		for _, err := range []error{v.I.Set(ctx, 24234), v.D.Set(ctx, -4.25), v.H.Set(ctx, 234), v.Q.Set(ctx, 1<<34), v.C.Set(ctx, 'y')} {
			if err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	setRawValues = mp.Register("conf.setRawValues", func(_ context.Context, v rawValueSet) (struct{}, error) {
		*v.I.Ptr(), *v.D.Ptr(), *v.H.Ptr(), *v.Q.Ptr(), *v.C.Ptr() = 24234, -4.25, 234, 1<<34, 'y'
		return struct{}{}, nil
	})
	// cumsum is _TestArray.f: seq[i] += seq[i-1].
	cumsum = mp.Register("conf.cumsum", func(ctx context.Context, a *mp.Array[int32]) (struct{}, error) {
		return struct{}{}, a.Update(ctx, cumsumSlice)
	})
	cumsumRaw = mp.Register("conf.cumsumRaw", func(_ context.Context, a *mp.RawArray[int32]) (struct{}, error) {
		cumsumSlice(a.Slice())
		return struct{}{}, nil
	})
	// double is _TestSharedCTypes._double.
	double = mp.Register("conf.double", func(ctx context.Context, a sharedCTypes) (struct{}, error) {
		*a.X.Ptr() *= 2
		*a.Y.Ptr() *= 2
		*a.Z.Ptr() *= 2
		foo := a.Foo.Ptr()
		foo.X *= 2
		foo.Y *= 2
		s := a.String.Slice()
		n := slices.Index(s, 0)
		copy(s[n:], s[:n])
		for i, v := range a.Arr.Slice() {
			a.Arr.Slice()[i] = v * 2
		}
		return struct{}{}, nil
	})
)

func cumsumSlice(s []int32) {
	for i := 1; i < len(s); i++ {
		s[i] += s[i-1]
	}
}

// foo is _TestSharedCTypes' _Foo structure.
type foo struct {
	X int32
	Y float64
	Z int64
}

type sharedCTypes struct {
	X      *mp.RawValue[int32]
	Y      *mp.RawValue[float64]
	Z      *mp.RawValue[int64]
	Foo    *mp.RawValue[foo]
	Arr    *mp.RawArray[float64]
	String *mp.RawArray[byte]
}

func newRawValue[T any](t *testing.T, v T) *mp.RawValue[T] {
	t.Helper()
	x, err := mp.NewRawValue(v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.SharedMemory().Unlink() })
	return x
}

func newRawArray[T any](t *testing.T, n int) *mp.RawArray[T] {
	t.Helper()
	a, err := mp.NewRawArray[T](n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.SharedMemory().Unlink() })
	return a
}

func newArray[T any](t *testing.T, n int) *mp.Array[T] {
	t.Helper()
	a, err := mp.NewArray[T](n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Unlink() })
	return a
}

// TestValue ports _TestValue.
func TestValue(t *testing.T) {
	// CPython: _TestValue.test_value
	t.Run("test_value", func(t *testing.T) {
		ctx := testCtx(t)
		v := valueSet{newValue[int32](t, 4343), newValue(t, 3.625), newValue[int16](t, -232), newValue[int64](t, 1<<33), newValue(t, byte('x'))}
		i, _ := v.I.Get(ctx)
		d, _ := v.D.Get(ctx)
		h, _ := v.H.Get(ctx)
		q, _ := v.Q.Get(ctx)
		c, _ := v.C.Get(ctx)
		if i != 4343 || d != 3.625 || h != -232 || q != 1<<33 || c != 'x' {
			t.Fatalf("initial values %v %v %v %v %v", i, d, h, q, c)
		}
		p := startProcess(t, setValues, v, mp.Daemon(true))
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		i, _ = v.I.Get(ctx)
		d, _ = v.D.Get(ctx)
		h, _ = v.H.Get(ctx)
		q, _ = v.Q.Get(ctx)
		c, _ = v.C.Get(ctx)
		if i != 24234 || d != -4.25 || h != 234 || q != 1<<34 || c != 'y' {
			t.Fatalf("values set by the child: %v %v %v %v %v", i, d, h, q, c)
		}
	})

	// CPython: _TestValue.test_rawvalue
	t.Run("test_rawvalue", func(t *testing.T) {
		ctx := testCtx(t)
		v := rawValueSet{newRawValue[int32](t, 4343), newRawValue(t, 3.625), newRawValue[int16](t, -232), newRawValue[int64](t, 1<<33), newRawValue(t, byte('x'))}
		if *v.I.Ptr() != 4343 || *v.D.Ptr() != 3.625 || *v.H.Ptr() != -232 || *v.Q.Ptr() != 1<<33 || *v.C.Ptr() != 'x' {
			t.Fatal("initial raw values")
		}
		p := startProcess(t, setRawValues, v, mp.Daemon(true))
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if *v.I.Ptr() != 24234 || *v.D.Ptr() != -4.25 || *v.H.Ptr() != 234 || *v.Q.Ptr() != 1<<34 || *v.C.Ptr() != 'y' {
			t.Fatal("raw values set by the child")
		}
	})

	// CPython: _TestValue.test_getobj_getlock
	t.Run("test_getobj_getlock", func(t *testing.T) {
		ctx := testCtx(t)
		v := newValue[int32](t, 5)
		l := v.GetLock()
		if l == nil || v.Ptr() == nil {
			t.Fatal("get_lock() or get_obj() missing")
		}
		// the lock is the one Update takes
		if err := l.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		if l.TryLock() {
			t.Fatal("get_lock() is not held after acquire")
		}
		l.Unlock()
		if err := v.Update(ctx, func(x *int32) { *x++ }); err != nil {
			t.Fatal(err)
		}
		if *v.Ptr() != 6 {
			t.Fatalf("get_obj() = %d", *v.Ptr())
		}
	})
}

var arraySeq = []int32{680, 626, 934, 821, 150, 233, 548, 982, 714, 831}

// TestArray ports _TestArray.
func TestArray(t *testing.T) {
	// CPython: _TestArray.test_array
	t.Run("test_array", func(t *testing.T) {
		ctx := testCtx(t)
		seq := slices.Clone(arraySeq)
		arr, err := mp.NewArrayFrom(seq) // Array('i', seq)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { arr.Unlink() })
		s := arr.Slice()
		if len(s) != len(seq) || arr.Len() != len(seq) || s[3] != seq[3] || !slices.Equal(s[2:7], seq[2:7]) {
			t.Fatalf("array = %v", s)
		}
		copy(s[4:8], []int32{1, 2, 3, 4})
		copy(seq[4:8], []int32{1, 2, 3, 4})
		if !slices.Equal(arr.Slice(), seq) {
			t.Fatal("slice assignment")
		}
		cumsumSlice(seq)
		p := startProcess(t, cumsum, arr, mp.Daemon(true))
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(arr.Slice(), seq) {
			t.Fatalf("array after the child = %v, want %v", arr.Slice(), seq)
		}
	})

	// CPython: _TestArray.test_array_from_size
	t.Run("test_array_from_size", func(t *testing.T) {
		for range 3 {
			arr := newArray[int32](t, 10)
			if arr.Len() != 10 || !slices.Equal(arr.Slice(), make([]int32, 10)) {
				t.Fatalf("Array('i', 10) = %v", arr.Slice())
			}
			for i := range arr.Slice() {
				arr.Slice()[i] = int32(i)
			}
			if !slices.Equal(arr.Slice(), []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
				t.Fatal("arr[:] = range(10)")
			}
		}
	})

	// CPython: _TestArray.test_rawarray
	t.Run("test_rawarray", func(t *testing.T) {
		ctx := testCtx(t)
		seq := slices.Clone(arraySeq)
		arr := newRawArray[int32](t, len(seq))
		copy(arr.Slice(), seq)
		if arr.Len() != len(seq) || arr.Slice()[3] != seq[3] {
			t.Fatal("raw array")
		}
		copy(arr.Slice()[4:8], []int32{1, 2, 3, 4})
		copy(seq[4:8], []int32{1, 2, 3, 4})
		cumsumSlice(seq)
		p := startProcess(t, cumsumRaw, arr, mp.Daemon(true))
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(arr.Slice(), seq) {
			t.Fatalf("raw array after the child = %v, want %v", arr.Slice(), seq)
		}
	})

	// CPython: _TestArray.test_getobj_getlock_obj
	t.Run("test_getobj_getlock_obj", func(t *testing.T) {
		ctx := testCtx(t)
		arr := newArray[int32](t, 10)
		l := arr.GetLock()
		if l == nil || arr.Slice() == nil {
			t.Fatal("get_lock() or get_obj() missing")
		}
		if err := l.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		updated := make(chan error, 1)
		go func() { updated <- arr.Update(ctx, func(s []int32) { s[0] = 1 }) }()
		select {
		case err := <-updated:
			t.Fatalf("Update ran while get_lock() was held: %v", err)
		default:
		}
		l.Unlock()
		if err := <-updated; err != nil || arr.Slice()[0] != 1 {
			t.Fatalf("Update after release: %v", err)
		}
	})
}

// TestSharedCTypes ports _TestSharedCTypes.
func TestSharedCTypes(t *testing.T) {
	// CPython: _TestSharedCTypes.test_sharedctypes
	t.Run("test_sharedctypes", func(t *testing.T) {
		ctx := testCtx(t)
		a := sharedCTypes{
			X: newRawValue[int32](t, 7), Y: newRawValue(t, 1.0/3.0), Z: newRawValue[int64](t, 1<<33),
			Foo: newRawValue(t, foo{X: 3, Y: 2}), Arr: newRawArray[float64](t, 10), String: newRawArray[byte](t, 20),
		}
		for i := range a.Arr.Slice() {
			a.Arr.Slice()[i] = float64(i)
		}
		copy(a.String.Slice(), "hello")
		p := startProcess(t, double, a, mp.Daemon(true))
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		if *a.X.Ptr() != 14 || math.Abs(*a.Y.Ptr()-2.0/3.0) > 1e-9 || *a.Z.Ptr() != 1<<34 || a.Foo.Ptr().X != 6 || a.Foo.Ptr().Y != 4 {
			t.Fatalf("doubled: %v %v %v %+v", *a.X.Ptr(), *a.Y.Ptr(), *a.Z.Ptr(), *a.Foo.Ptr())
		}
		for i, v := range a.Arr.Slice() {
			if v != float64(2*i) {
				t.Fatalf("arr[%d] = %v", i, v)
			}
		}
		if s := string(a.String.Slice()[:10]); s != "hellohello" {
			t.Fatalf("string = %q", s)
		}
	})

	// CPython: _TestSharedCTypes.test_copy
	t.Run("test_copy", func(t *testing.T) {
		v := newRawValue(t, foo{X: 2, Y: 5.0, Z: 1 << 33})
		bar := *v.Ptr() // copy(foo)
		*v.Ptr() = foo{}
		if bar.X != 2 || bar.Y != 5.0 || bar.Z != 1<<33 {
			t.Fatalf("the copy changed: %+v", bar)
		}
	})
}
