package worker

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mp-go/mp/internal/ring"
	"github.com/mp-go/mp/internal/shm"
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
	// rings: memory is used as frames are put, not up front. A frame
	// bigger than a quarter of a ring crosses in parts.
	TaskRingBytes   = 4 << 20
	ResultRingBytes = 16 << 20
	markSize        = int(unsafe.Sizeof(Mark{}))
)

// LinkSize is the bytes of a Link's segment.
func LinkSize() int {
	return markSize + ring.Size(TaskRingBytes) + ring.Size(ResultRingBytes)
}

// LinkBacked is how much of a new Link's segment, from its start, is to
// be backed by memory at once: the mark and the task ring's first step
// (NewLink backs the result ring's).
func LinkBacked() int { return markSize + ring.HeaderSize + ring.GrowStep }

// parts cuts the segment's memory into the mark and the two rings.
func parts(mem []byte) (mark, tasks, results []byte, toff, roff int) {
	toff = markSize
	roff = toff + ring.Size(TaskRingBytes)
	return mem[:markSize], mem[toff:roff], mem[roff : roff+ring.Size(ResultRingBytes)], toff, roff
}

// NewLink lays out a Link in seg, new and zeroed (LinkSize bytes, of
// which LinkBacked have memory behind them).
func NewLink(seg *shm.Segment) (*Link, error) {
	if len(seg.Data) != LinkSize() {
		return nil, fmt.Errorf("mp: a worker's link of %d bytes, want %d", len(seg.Data), LinkSize())
	}
	mark, tasks, results, toff, roff := parts(seg.Data)
	if err := seg.Reserve(roff, ring.HeaderSize+ring.GrowStep); err != nil {
		return nil, err
	}
	m := (*Mark)(unsafe.Pointer(&mark[0]))
	tr := ring.Init(tasks, ringMagic, TaskRingBytes, ring.GrowStep, 0, backer(seg, toff))
	rr := ring.Init(results, ringMagic, ResultRingBytes, ring.GrowStep, 0, backer(seg, roff))
	atomic.StoreUint32(&m.magic, linkMagic)
	return &Link{Seg: seg, Mark: m, Tasks: tr, Results: rr}, nil
}

const ringMagic = 0x6d70526e // "mpRn"

// AttachLink returns the Link in seg, made by NewLink in the parent.
func AttachLink(seg *shm.Segment) (*Link, error) {
	if len(seg.Data) != LinkSize() {
		return nil, fmt.Errorf("mp: fd 3 is not a worker's link to its pool (%d bytes)", len(seg.Data))
	}
	mark, tasks, results, toff, roff := parts(seg.Data)
	m := (*Mark)(unsafe.Pointer(&mark[0]))
	tr, ok1 := ring.Attach(tasks, ringMagic, backer(seg, toff))
	rr, ok2 := ring.Attach(results, ringMagic, backer(seg, roff))
	if atomic.LoadUint32(&m.magic) != linkMagic || !ok1 || !ok2 {
		return nil, fmt.Errorf("mp: fd 3 is not a worker's link to its pool")
	}
	return &Link{Seg: seg, Mark: m, Tasks: tr, Results: rr}, nil
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
