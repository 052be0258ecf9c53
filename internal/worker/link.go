package worker

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/mp-go/mp/internal/ring"
	"github.com/mp-go/mp/internal/shm"
	"github.com/mp-go/mp/internal/wire"
)

// A Link is the shared memory between a pool and one worker process: a
// segment the pool makes for each worker and passes to it as fd 3 (its
// name unlinked at once: nothing is left in /dev/shm whatever happens),
// holding
//
//   - the mark: the task and item the worker is running, written before
//     each item starts, after the results of the one before are in the
//     result ring;
//   - the task ring, pool → worker: Setup, then Tasks;
//   - the result ring, worker → pool: Hello, Ready, Results and Log frames.
//
// The rings carry the same frames the pipes carried (docs/protocol.md),
// as a byte stream. What a worker put in its result ring outlives it: once
// it has died the pool reads every whole frame left, and the mark says
// which item was running, so that nothing finished is run again.
type Link struct {
	Seg     *shm.Segment
	Mark    *Mark
	Stage   *Stage
	Tasks   *ring.Ring
	Results *ring.Ring
}

// Mark is the first word of a Link: the task ID in its high 32 bits, and
// in the low ones 1 + the index in that task of the item running (0:
// none has started). One word, so that a worker killed between two stores
// cannot leave a task with another task's item.
type Mark struct {
	magic uint32
	_     uint32
	word  atomic.Uint64
	_     [48]byte // the rest of a cache line: the rings' headers follow
}

const (
	linkMagic = 0x6d704c6e // "mpLn"
	// TaskRingBytes and ResultRingBytes are the capacities of a Link's
	// rings, backed by memory when the Link is made: a ring's head and
	// tail go round all of it, so all of it is used in time, and a
	// container's /dev/shm (64 MiB) must hold the Links of every worker.
	// A frame bigger than a quarter of a ring crosses in parts, read as
	// it is written.
	TaskRingBytes   = 256 << 10
	ResultRingBytes = 256 << 10
	markSize        = int(unsafe.Sizeof(Mark{}))
	// StageBytes is the room for the results of a batch not yet sent (a
	// batch that would take more is sent at once).
	StageBytes = 256 << 10
	stageSize  = int(unsafe.Sizeof(stageHeader{})) + StageBytes
	headSize   = markSize + stageSize
)

// LinkSize is the bytes of a Link's segment.
func LinkSize() int {
	return headSize + ring.Size(TaskRingBytes) + ring.Size(ResultRingBytes)
}

// LinkBacked is how much of a new Link's segment, from its start, is to
// be backed by memory at once: all of it.
func LinkBacked() int { return LinkSize() }

// parts cuts the segment's memory into the mark, the stage and the two
// rings.
func parts(mem []byte) (mark []byte, stage *Stage, tasks, results []byte, toff, roff int) {
	toff = headSize
	roff = toff + ring.Size(TaskRingBytes)
	stage = &Stage{h: (*stageHeader)(unsafe.Pointer(&mem[markSize])), data: mem[markSize+int(unsafe.Sizeof(stageHeader{})) : headSize], mark: (*Mark)(unsafe.Pointer(&mem[0]))}
	return mem[:markSize], stage, mem[toff:roff], mem[roff : roff+ring.Size(ResultRingBytes)], toff, roff
}

// NewLink lays out a Link in seg, new and zeroed (LinkSize bytes, all
// backed by memory: LinkBacked).
func NewLink(seg *shm.Segment) (*Link, error) {
	if len(seg.Data) != LinkSize() {
		return nil, fmt.Errorf("mp: a worker's link of %d bytes, want %d", len(seg.Data), LinkSize())
	}
	mark, stage, tasks, results, toff, roff := parts(seg.Data)
	m := (*Mark)(unsafe.Pointer(&mark[0]))
	tr := ring.Init(tasks, ringMagic, TaskRingBytes, TaskRingBytes, 0, backer(seg, toff))
	rr := ring.Init(results, ringMagic, ResultRingBytes, ResultRingBytes, 0, backer(seg, roff))
	atomic.StoreUint32(&m.magic, linkMagic)
	return &Link{Seg: seg, Mark: m, Stage: stage, Tasks: tr, Results: rr}, nil
}

const ringMagic = 0x6d70526e // "mpRn"

// AttachLink returns the Link in seg, made by NewLink in the parent.
func AttachLink(seg *shm.Segment) (*Link, error) {
	if len(seg.Data) != LinkSize() {
		return nil, fmt.Errorf("mp: fd 3 is not a worker's link to its pool (%d bytes)", len(seg.Data))
	}
	mark, stage, tasks, results, toff, roff := parts(seg.Data)
	m := (*Mark)(unsafe.Pointer(&mark[0]))
	tr, ok1 := ring.Attach(tasks, ringMagic, backer(seg, toff))
	rr, ok2 := ring.Attach(results, ringMagic, backer(seg, roff))
	if atomic.LoadUint32(&m.magic) != linkMagic || !ok1 || !ok2 {
		return nil, fmt.Errorf("mp: fd 3 is not a worker's link to its pool")
	}
	// The worker waits for its next Task for as long as a wake-up costs:
	// a pool that sends it a Task then finds it awake (see futex.SpinLong).
	tr.Patient = true
	return &Link{Seg: seg, Mark: m, Stage: stage, Tasks: tr, Results: rr}, nil
}

func backer(seg *shm.Segment, off int) func(int, int) error {
	return func(o, n int) error { return seg.Reserve(off+ring.HeaderSize+o, n) }
}

// Start marks task id begun, no item of it running yet.
func (m *Mark) Start(id uint64) { m.word.Store(id << 32) }

// Item marks item i of task id running.
func (m *Mark) Item(id uint64, i int) { m.word.Store(id<<32 | uint64(uint32(i+1))) }

// Running returns the task and item the mark names; ok is false when no
// item of the task has started.
func (m *Mark) Running() (id uint64, item int, ok bool) {
	w := m.word.Load()
	return w >> 32, int(uint32(w)) - 1, uint32(w) != 0
}

// A Stage holds, in the Link, the results of the items of a batch that
// the worker has finished and not yet sent: a Results frame carries many
// items (one frame an item would cost more than a trivial item), and the
// stage keeps each of them from the moment it is finished, so that a
// worker killed mid-batch loses none. Each entry is a 4-byte length of
// the item's value (a one-element array, as Results.Values), a 4-byte
// length of its error (0: none), then both encoded. The header's word,
// stored after an entry is written, commits it: entries and bytes. The
// pool reads a stage only once its worker has died.
//
// A Task whose results are numbers (wire.RawKind) keeps them raw instead
// (ResetRaw): the values as an array, and no count of its own: the mark
// commits them, the items from the stage's first to the one before the
// item marked running being finished. One store per item, not three.
type Stage struct {
	h    *stageHeader
	data []byte
	mark *Mark
}

type stageHeader struct {
	task atomic.Uint64 // the Task's ID
	from atomic.Int64  // the index in it of the first entry
	word atomic.Uint64 // entries << 32 | bytes
	raw  atomic.Uint32 // the wire.RawKind of a raw stage; 0: entries
	_    [36]byte
}

// rawAt is where a raw stage's values start in its data (8-aligned): the
// two bytes before them are the raw slice's header, so that the values of
// the first n items are a raw slice as they are (RawValues).
const rawAt = 8

// Reset empties the stage for the items of task id from from on; the
// items before have gone out in a Results frame.
func (s *Stage) Reset(id uint64, from int) {
	s.h.word.Store(0)
	s.h.raw.Store(0)
	s.h.from.Store(int64(from))
	s.h.task.Store(id)
}

// ResetRaw empties the stage for the items of task id from from on, whose
// results are numbers of the wire.RawKind kind, kept in RawSlots.
func (s *Stage) ResetRaw(id uint64, from int, kind byte) {
	h := wire.RawHeader(kind)
	copy(s.data[rawAt-2:], h[:])
	s.h.word.Store(0)
	s.h.raw.Store(uint32(kind))
	s.h.from.Store(int64(from))
	s.h.task.Store(id)
}

// RawSlots is a raw stage's room for values, as numbers of type R (of the
// stage's wire.RawKind): the result of item from+k goes in slot k, written
// before the next item is marked running.
func RawSlots[R any](s *Stage) []R {
	var zero R
	n := (len(s.data) - rawAt) / int(unsafe.Sizeof(zero))
	return unsafe.Slice((*R)(unsafe.Pointer(&s.data[rawAt])), n)
}

// RawValues is the first n values of a raw stage as a raw slice, the
// Values of their Results (not a copy: send it before the stage is reset).
func (s *Stage) RawValues(n int) []byte { return s.data[rawAt-2 : rawAt+8*n] }

// Add keeps one item's results; it reports false if they do not fit (the
// caller then sends its batch at once).
func (s *Stage) Add(value, werr []byte) bool {
	w := s.h.word.Load()
	n, at := w>>32, int(uint32(w))
	need := 8 + len(value) + len(werr)
	if at+need > len(s.data) {
		return false
	}
	b := s.data[at:]
	binary.LittleEndian.PutUint32(b, uint32(len(value)))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(werr)))
	copy(b[8:], value)
	copy(b[8+len(value):], werr)
	s.h.word.Store((n+1)<<32 | uint64(at+need))
	return true
}

// Staged is an item's results read from the stage of a dead worker.
type Staged struct {
	Index int    // in its Task
	Value []byte // a one-element array, as Results.Values
	Err   []byte // its wire.Error, encoded, if it failed
}

// Read returns the items staged for task id (only those whose entries
// are whole: the rest is not trusted), copied out.
func (s *Stage) Read(id uint64) []Staged {
	if s.h.task.Load() != id {
		return nil
	}
	if kind := s.h.raw.Load(); kind != 0 {
		return s.readRaw(id, byte(kind))
	}
	w := s.h.word.Load()
	n, end := int(w>>32), int(uint32(w))
	from := int(s.h.from.Load())
	if end > len(s.data) || from < 0 {
		return nil
	}
	var out []Staged
	for at := 0; len(out) < n && at+8 <= end; {
		vl := int(binary.LittleEndian.Uint32(s.data[at:]))
		el := int(binary.LittleEndian.Uint32(s.data[at+4:]))
		if vl < 0 || el < 0 || at+8+vl+el > end {
			break
		}
		st := Staged{Index: from + len(out), Value: slices.Clone(s.data[at+8 : at+8+vl])}
		if el > 0 {
			st.Err = slices.Clone(s.data[at+8+vl : at+8+vl+el])
		}
		out = append(out, st)
		at += 8 + vl + el
	}
	return out
}

// readRaw reads a raw stage: the items before the one marked running.
func (s *Stage) readRaw(id uint64, kind byte) []Staged {
	t, item, ok := s.mark.Running()
	from := int(s.h.from.Load())
	if !ok || t != uint64(uint32(id)) || from < 0 {
		return nil
	}
	n := min(item-from, (len(s.data)-rawAt)/8)
	h := wire.RawHeader(kind)
	var out []Staged
	for k := range max(n, 0) {
		v := append(h[:2:2], s.data[rawAt+8*k:rawAt+8*k+8]...)
		out = append(out, Staged{Index: from + k, Value: v})
	}
	return out
}
