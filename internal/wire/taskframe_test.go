package wire

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestTaskFrameRoundTrip(t *testing.T) {
	for _, tc := range []Task{
		{ID: 1, Func: "f", Args: []byte{0x81, 1}, N: 1},
		{ID: math.MaxUint64, Func: "pkg.name with spaces", Args: bytes.Repeat([]byte{7}, 70000), N: math.MaxInt32, Retries: 3, Careful: true, Timeout: int64(math.MaxInt64), Ticks: true},
		{ID: 2, Func: "", Args: nil, N: 0, Timeout: -1, Careful: true},
	} {
		b := AppendTask([]byte("prefix"), &tc)
		var got Task
		if err := DecodeTask(b[len("prefix"):], &got); err != nil {
			t.Fatalf("DecodeTask(AppendTask(%+v)): %v", tc.ID, err)
		}
		if !reflect.DeepEqual(got, tc) {
			t.Fatalf("round trip: got %+v, want %+v", got, tc)
		}
		if head := AppendTaskHead(nil, &tc); !bytes.Equal(append(head, tc.Args...), b[len("prefix"):]) {
			t.Fatalf("AppendTaskHead + Args is not AppendTask's frame")
		}
		var shared Task
		err := DecodeTaskShared(b[len("prefix"):], &shared)
		if len(shared.Args) == 0 && len(tc.Args) == 0 {
			shared.Args = tc.Args // no arguments: empty or nil
		}
		if err != nil || !reflect.DeepEqual(shared, tc) {
			t.Fatalf("DecodeTaskShared: got %+v, %v", shared, err)
		}
	}
}

func TestResultsFrameRoundTrip(t *testing.T) {
	for _, tc := range []Results{
		{ID: 1, From: 0, N: 1, Values: []byte{1, 2, 3}},
		{ID: math.MaxUint64, From: math.MaxInt32, N: 5, Values: bytes.Repeat([]byte{9}, 1<<17), RSS: 1 << 40, Retried: 7,
			Errs: []ItemError{{Index: 2, Err: Error{Msg: "boom", Type: "*errors.errorString"}}, {Index: 4, Err: Error{Msg: "p", Panic: true, Stack: "goroutine 1"}}}},
	} {
		b, err := AppendResults(nil, &tc)
		if err != nil {
			t.Fatal(err)
		}
		head, tail, err := ResultsParts([]byte("scratch"), &tc)
		if err != nil {
			t.Fatal(err)
		}
		if whole := append(append(bytes.Clone(head[len("scratch"):]), tc.Values...), tail...); !bytes.Equal(whole, b) {
			t.Fatalf("ResultsParts' head + Values + tail is not AppendResults' frame")
		}
		var got Results
		if err := DecodeResults(b, &got); err != nil {
			t.Fatalf("DecodeResults(AppendResults(task %d)): %v", tc.ID, err)
		}
		if !reflect.DeepEqual(got, tc) {
			t.Fatalf("round trip: got %+v, want %+v", got, tc)
		}
	}
}

// A decoded frame owns its bytes: the reader's buffer is reused for the
// next frame.
func TestFramesCopyTheirBytes(t *testing.T) {
	b := AppendTask(nil, &Task{ID: 1, Func: "f", Args: []byte{1, 2, 3}, N: 1})
	var task Task
	if err := DecodeTask(b, &task); err != nil {
		t.Fatal(err)
	}
	rb, _ := AppendResults(nil, &Results{ID: 1, N: 1, Values: []byte{4, 5, 6}})
	var res Results
	if err := DecodeResults(rb, &res); err != nil {
		t.Fatal(err)
	}
	var shared Results
	if err := DecodeResultsShared(rb, &shared); err != nil || !bytes.Equal(shared.Values, []byte{4, 5, 6}) {
		t.Fatalf("DecodeResultsShared: %v, %v", shared.Values, err)
	}
	var sharedTask Task
	if err := DecodeTaskShared(b, &sharedTask); err != nil {
		t.Fatal(err)
	}
	clear(b)
	clear(rb)
	if !bytes.Equal(sharedTask.Args, []byte{0, 0, 0}) {
		t.Fatalf("DecodeTaskShared's arguments %v are not the frame's", sharedTask.Args)
	}
	if !bytes.Equal(task.Args, []byte{1, 2, 3}) || !bytes.Equal(res.Values, []byte{4, 5, 6}) {
		t.Fatalf("decoded bytes changed with the frame: args %v values %v", task.Args, res.Values)
	}
	if !bytes.Equal(shared.Values, []byte{0, 0, 0}) {
		t.Fatalf("DecodeResultsShared's values %v are not the frame's", shared.Values)
	}
}

func TestMalformedFrames(t *testing.T) {
	good := AppendTask(nil, &Task{ID: 1, Func: "f", Args: []byte{1, 2}, N: 1})
	goodRes, _ := AppendResults(nil, &Results{ID: 1, N: 1, Values: []byte{1}})
	bigN := append([]byte{taskFormat, 0, 1}, 0xff, 0xff, 0xff, 0xff, 0x0f) // N = 2^32-1
	for _, tc := range []struct {
		name string
		b    []byte
		task bool
	}{
		{"empty task", nil, true},
		{"empty results", nil, false},
		{"a CBOR map", []byte{0xa1, 1, 1}, true},
		{"results as a task", goodRes, true},
		{"a task as results", good, false},
		{"truncated task", good[:len(good)-1], true},
		{"truncated results", goodRes[:len(goodRes)-1], false},
		{"a byte too many", append(append([]byte(nil), good...), 0), true},
		{"unknown flag", append([]byte{taskFormat, 4}, good[2:]...), true},
		{"N out of range", bigN, true},
		{"length past the end", []byte{resultsFormat, 1, 0, 1, 0, 0, 0xff, 0x01}, false},
		{"bad varint", []byte{taskFormat, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, true},
		{"errors not CBOR", []byte{resultsFormat, 1, 0, 1, 0, 0, 1, 7, 2, 0xff, 0xff}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.task {
				err = DecodeTask(tc.b, &Task{})
			} else {
				err = DecodeResults(tc.b, &Results{})
			}
			if !errors.Is(err, errFrame) {
				t.Fatalf("decoding %x: %v, want a malformed-frame error", tc.b, err)
			}
		})
	}
}

// FuzzTaskFrames: bytes from another process decode to a Task or Results
// that encodes to a frame decoding to the same, or to an error; never a
// panic.
func FuzzTaskFrames(f *testing.F) {
	f.Add(AppendTask(nil, &Task{ID: 1, Func: "f", Args: []byte{0x81, 1}, N: 1, Careful: true, Timeout: 5}))
	rb, _ := AppendResults(nil, &Results{ID: 1, N: 1, Values: []byte{1}, Errs: []ItemError{{Err: Error{Msg: "x"}}}})
	f.Add(rb)
	f.Add([]byte{taskFormat})
	f.Fuzz(func(t *testing.T, b []byte) {
		var task, task2 Task
		if DecodeTask(b, &task) == nil {
			if err := DecodeTask(AppendTask(nil, &task), &task2); err != nil || !reflect.DeepEqual(task, task2) {
				t.Fatalf("task %x decoded to %+v, which encodes to %+v (%v)", b, task, task2, err)
			}
		}
		var res, res2 Results
		if DecodeResults(b, &res) == nil {
			again, err := AppendResults(nil, &res)
			if err == nil {
				err = DecodeResults(again, &res2)
			}
			if err != nil || !reflect.DeepEqual(res, res2) {
				t.Fatalf("results %x decoded to %+v, which encodes to %+v (%v)", b, res, res2, err)
			}
		}
	})
}

// A worker decodes every Task into one Task value: every field comes
// from the frame (nothing left from the last Task), and the function's
// name, when it is the last one's, is reused instead of allocated.
func TestDecodeTaskIntoOneTask(t *testing.T) {
	frames := []Task{
		{ID: 1, Func: "pkg.square", Args: []byte{0x81, 1}, N: 1, Retries: 2, Careful: true, Ticks: true, Timeout: 5},
		{ID: 2, Func: "pkg.square", Args: []byte{0x81, 2}, N: 1},
		{ID: 3, Func: "pkg.cube", Args: []byte{0x81, 3}, N: 1},
		{ID: 4, Func: "", N: 0},
	}
	var into Task
	for _, tc := range frames {
		if err := DecodeTask(AppendTask(nil, &tc), &into); err != nil {
			t.Fatalf("task %d: %v", tc.ID, err)
		}
		if len(into.Args) == 0 && len(tc.Args) == 0 {
			into.Args = tc.Args
		}
		if !reflect.DeepEqual(into, tc) {
			t.Fatalf("decoded into the last task: got %+v, want %+v", into, tc)
		}
	}
	b := AppendTask(nil, &frames[1])
	into = Task{}
	DecodeTaskShared(b, &into)
	if n := testing.AllocsPerRun(100, func() { DecodeTaskShared(b, &into) }); n != 0 {
		t.Fatalf("decoding a Task of the same function as the last allocated %v times", n)
	}
}
