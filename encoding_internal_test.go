package mp

import (
	"errors"
	"strings"
	"testing"

	"github.com/mp-go/mp/internal/wire"
)

// Results bigger than a frame are split over several frames; a single
// result too big fails its item instead of killing the worker.
func TestEncodeResultsSplitsAndBounds(t *testing.T) {
	out := []string{strings.Repeat("a", 40), "b", strings.Repeat("c", 40), strings.Repeat("d", 500), "e"}
	errs := []wire.ItemError{{Index: 11, Err: wire.Error{Msg: "boom"}}}
	frames := encodeResults("f", 7, 10, out, errs, 100)
	next := 10
	var got []string
	var failed []int
	for _, r := range frames {
		if r.ID != 7 || r.From != next || r.N < 1 {
			t.Fatalf("frame %+v: want ID 7 from %d", r, next)
		}
		next += r.N
		var vals []string
		if err := wire.UnmarshalSlice(r.Values, &vals); err != nil || len(vals) != r.N {
			t.Fatalf("frame from %d: %v, %v", r.From, vals, err)
		}
		size := len(r.Values)
		for _, e := range r.Errs {
			size += len(e.Err.Msg)
			failed = append(failed, e.Index)
			if e.Index < r.From || e.Index >= r.From+r.N {
				t.Errorf("error of item %d in the frame of items %d..%d", e.Index, r.From, r.From+r.N-1)
			}
			if e.Index == 13 && !strings.Contains(e.Err.Msg, "more than the 100") {
				t.Errorf("item 13: %q", e.Err.Msg)
			}
		}
		if size > 100 && r.N > 1 {
			t.Errorf("frame from %d: %d bytes for %d items", r.From, size, r.N)
		}
		got = append(got, vals...)
	}
	if next != 15 {
		t.Fatalf("frames cover items 10..%d, want 10..14", next-1)
	}
	want := []string{out[0], "b", out[2], "", "e"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("values %q, want %q", got, want)
	}
	if len(failed) != 2 || failed[0] != 11 || failed[1] != 13 {
		t.Errorf("failed items %v, want 11 (its own error) and 13 (too big)", failed)
	}
}

// Arguments are cut into Tasks that fit a frame; one that cannot be
// encoded, or is too big alone, fails by itself.
func TestEncodeArgsBounds(t *testing.T) {
	long := strings.Repeat("x", 60)
	tests := []struct {
		name    string
		items   []any
		wantN   int
		wantErr string
	}{
		{"all fit", []any{"a", "b", "c"}, 3, ""},
		{"as many as fit", []any{long, "b", long, "d"}, 2, ""},
		{"stop before one that cannot be encoded", []any{"a", "b", func() {}, "d"}, 2, "func() at the value itself"},
		{"the first cannot be encoded", []any{make(chan int), "b"}, 0, "chan int"},
		{"the first is too big", []any{strings.Repeat("y", 200), "b"}, 0, "more than the 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, n, err := encodeArgs(tt.items, 100)
			if n != tt.wantN {
				t.Fatalf("n = %d, want %d (err %v)", n, tt.wantN, err)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && (!strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrEncoding)) {
				t.Fatalf("err = %v, want ErrEncoding saying %q", err, tt.wantErr)
			}
			if n == 0 {
				return
			}
			if len(data) > 100 {
				t.Errorf("%d bytes, bound 100", len(data))
			}
			var back []any
			if err := wire.UnmarshalSlice(data, &back); err != nil || len(back) != n {
				t.Errorf("decoded %v, %v", back, err)
			}
		})
	}
	// raw numbers are cut too
	data, n, err := encodeArgs(make([]int, 100), 100)
	if err != nil || n == 0 || n == 100 || len(data) > 100 {
		t.Errorf("ints: %d items in %d bytes, %v", n, len(data), err)
	}
}
