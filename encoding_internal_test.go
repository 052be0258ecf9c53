package mp

import (
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
