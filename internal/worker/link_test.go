package worker

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/mp-go/mp/internal/shm"
	"github.com/mp-go/mp/internal/wire"
)

// newTestLink makes a Link as a pool does, and its worker's view of it.
func newTestLink(t *testing.T) (pool, child *Link) {
	t.Helper()
	name := fmt.Sprintf("mp-test-link-%d", os.Getpid())
	seg, err := shm.CreateLazy(name, LinkSize(), LinkBacked())
	if err != nil {
		t.Fatal(err)
	}
	shm.Unlink(name)
	if pool, err = NewLink(seg); err != nil {
		t.Fatal(err)
	}
	if child, err = AttachLink(seg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seg.Close() })
	return pool, child
}

// What the pool reads from a dead worker's stage: the items finished and
// not sent, of the task asked for; for a raw stage, those before the item
// its mark names, whatever the slots after them hold.
func TestStageRead(t *testing.T) {
	ints := func(vs ...int) [][]byte {
		var out [][]byte
		for _, v := range vs {
			b, _ := wire.MarshalSlice([]int{v})
			out = append(out, b)
		}
		return out
	}
	for _, c := range []struct {
		name    string
		fill    func(l *Link) // what the worker did
		task    uint64        // the task the pool asks for
		from    int
		values  [][]byte
		errored []int // items with an error
	}{
		{"entries", func(l *Link) {
			l.Mark.Start(7)
			l.Stage.Reset(7, 2)
			for i, v := range ints(20, 30) {
				l.Mark.Item(7, 2+i)
				l.Stage.Add(v, nil)
			}
			l.Stage.Add(ints(0)[0], []byte{0xa0}) // an item that failed
		}, 7, 2, ints(20, 30, 0), []int{4}},
		{"entries of another task", func(l *Link) {
			l.Stage.Reset(8, 0)
			l.Stage.Add(ints(1)[0], nil)
		}, 7, 0, nil, nil},
		{"raw, third item running", func(l *Link) {
			l.Mark.Start(7)
			l.Stage.ResetRaw(7, 5, kindOf[int]())
			s := RawSlots[int](l.Stage)
			for i, v := range []int{50, 60, 70} {
				l.Mark.Item(7, 5+i)
				s[i] = v
			}
		}, 7, 5, ints(50, 60), nil},
		{"raw, reset after a batch went out", func(l *Link) {
			l.Mark.Start(7)
			l.Stage.ResetRaw(7, 0, kindOf[int]())
			s := RawSlots[int](l.Stage)
			l.Mark.Item(7, 0)
			s[0] = 1
			l.Stage.ResetRaw(7, 1, kindOf[int]()) // item 0 sent; 1 not begun
		}, 7, 1, nil, nil},
		{"raw, no item begun", func(l *Link) {
			l.Mark.Start(9)
			l.Stage.ResetRaw(9, 0, kindOf[int]())
			RawSlots[int](l.Stage)[0] = 4
		}, 9, 0, nil, nil},
		{"raw, the mark of another task", func(l *Link) {
			l.Stage.ResetRaw(9, 0, kindOf[int]())
			RawSlots[int](l.Stage)[0] = 4
			l.Mark.Item(10, 1)
		}, 9, 0, nil, nil},
		{"raw after entries", func(l *Link) {
			l.Mark.Start(3)
			l.Stage.Reset(3, 0)
			l.Stage.Add(ints(1)[0], nil)
			l.Stage.ResetRaw(3, 1, kindOf[int]())
			l.Mark.Item(3, 1)
		}, 3, 1, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool, child := newTestLink(t)
			c.fill(child)
			got := pool.Stage.Read(c.task)
			if len(got) != len(c.values) {
				t.Fatalf("%d items read, want %d: %+v", len(got), len(c.values), got)
			}
			for i, st := range got {
				if st.Index != c.from+i || !slices.Equal(st.Value, c.values[i]) {
					t.Errorf("item %d: index %d value %x, want %d %x", i, st.Index, st.Value, c.from+i, c.values[i])
				}
				if failed := slices.Contains(c.errored, st.Index); failed != (st.Err != nil) {
					t.Errorf("item %d: error %x, want one: %v", st.Index, st.Err, failed)
				}
			}
		})
	}
}

// A raw stage's values are the Results' Values as they are.
func TestRawValues(t *testing.T) {
	_, child := newTestLink(t)
	child.Stage.ResetRaw(1, 0, kindOf[float64]())
	s := RawSlots[float64](child.Stage)
	copy(s, []float64{1.5, -2, 3})
	var got []float64
	if err := wire.UnmarshalSlice(child.Stage.RawValues(3), &got); err != nil || !slices.Equal(got, []float64{1.5, -2, 3}) {
		t.Errorf("RawValues decodes to %v, %v", got, err)
	}
}

func kindOf[T any]() byte {
	k, _ := wire.RawKind[T]()
	return k
}
