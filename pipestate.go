package mp

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mp-go/mp/internal/proc"
)

// A pipe's ends are held by processes: pipeState lists, for each end,
// the processes that hold a copy of it, and the copies on their way to
// another process. It lives in its own small shared segment.
type pipeState struct {
	magic uint32
	_     uint32
	ends  [2][pipeHolders]pipeHold
}

// pipeHolders bounds the copies of one end held at once.
const pipeHolders = 64

// transitFor bounds how long a copy sent to another process (as an
// argument, through a queue) counts as open before that process decodes
// it: a handle that is never decoded (a cancelled task) must not keep
// the pipe open for ever.
const transitFor = time.Minute

// pipeHold is one copy of an end. Only pid is written with a
// compare-and-swap (claiming the slot); a slot being claimed or freed may
// be seen half-written, but another copy is then always open (a process
// decoding its copy holds it before it lets go of the one in transit; a
// process sending one holds its own).
type pipeHold struct {
	pid   uint32 // 0: a free slot
	token uint32 // 0: the process's own copy; else a copy in transit
	until int64  // in transit: Unix nanoseconds after which it no longer counts
}

const magicPipe = 0x6d705069 // "mpPi"

func newPipeState() (*pipeState, *SharedMemory, error) {
	m, err := CreateSharedMemory("", int(unsafe.Sizeof(pipeState{})))
	if err != nil {
		return nil, nil, err
	}
	st := (*pipeState)(unsafe.Pointer(&m.Buf()[0]))
	atomic.StoreUint32(&st.magic, magicPipe)
	return st, m, nil
}

func receivedPipeState(name string) (*pipeState, *SharedMemory, error) {
	m, err := receivedNamed(name, int(unsafe.Sizeof(pipeState{})), magicPipe, "pipe")
	if err != nil {
		return nil, nil, err
	}
	return (*pipeState)(unsafe.Pointer(&m.Buf()[0])), m, nil
}

// live reports whether a copy counts as open.
func (h *pipeHold) live(now int64) bool {
	pid := atomic.LoadUint32(&h.pid)
	if pid == 0 {
		return false
	}
	if atomic.LoadUint32(&h.token) != 0 && now > atomic.LoadInt64(&h.until) {
		return false
	}
	return int(pid) == myPid || proc.Alive(int(pid))
}

// gone reports whether no copy of end is open.
func (st *pipeState) gone(end int) bool {
	now := time.Now().UnixNano()
	for i := range st.ends[end] {
		if st.ends[end][i].live(now) {
			return false
		}
	}
	return true
}

// hold records a copy of end held by pid (token 0: its own; else in
// transit until the given time). A process holds at most one copy of
// its own.
func (st *pipeState) hold(end int, pid int, token uint32, until int64) error {
	holds := &st.ends[end]
	if token == 0 {
		for i := range holds {
			if atomic.LoadUint32(&holds[i].pid) == uint32(pid) && atomic.LoadUint32(&holds[i].token) == 0 {
				return nil
			}
		}
	}
	for range 2 {
		for i := range holds {
			h := &holds[i]
			if atomic.LoadUint32(&h.pid) == 0 && atomic.CompareAndSwapUint32(&h.pid, 0, uint32(pid)) {
				atomic.StoreInt64(&h.until, until)
				atomic.StoreUint32(&h.token, token)
				return nil
			}
		}
		// full: free the copies of dead processes and expired ones
		now := time.Now().UnixNano()
		for i := range holds {
			h := &holds[i]
			if pid := atomic.LoadUint32(&h.pid); pid != 0 && !h.live(now) {
				h.free(pid)
			}
		}
	}
	return fmt.Errorf("mp: more than %d processes hold a copy of this pipe end: close some (Conn.Close)", pipeHolders)
}

// free empties a slot that pid held.
func (h *pipeHold) free(pid uint32) {
	atomic.StoreUint32(&h.token, 0)
	atomic.CompareAndSwapUint32(&h.pid, pid, 0)
}

// release drops pid's own copy of end and reports whether no copy is left.
func (st *pipeState) release(end int, pid int) bool {
	for i := range st.ends[end] {
		h := &st.ends[end][i]
		if atomic.LoadUint32(&h.pid) == uint32(pid) && atomic.LoadUint32(&h.token) == 0 {
			h.free(uint32(pid))
			break
		}
	}
	return st.gone(end)
}

// inTransit records a copy of end on its way to another process and
// returns its token.
func (st *pipeState) inTransit(end int) (uint32, error) {
	var b [4]byte
	rand.Read(b[:])
	tok := binary.LittleEndian.Uint32(b[:]) | 1
	return tok, st.hold(end, myPid, tok, time.Now().Add(transitFor).UnixNano())
}

// arrived drops the copy in transit with token: its process holds its
// own now.
func (st *pipeState) arrived(end int, token uint32) {
	if token == 0 {
		return
	}
	for i := range st.ends[end] {
		h := &st.ends[end][i]
		if atomic.LoadUint32(&h.token) == token {
			if pid := atomic.LoadUint32(&h.pid); pid != 0 {
				h.free(pid)
			}
			return
		}
	}
}
