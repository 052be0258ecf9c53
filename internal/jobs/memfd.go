package jobs

import (
	"io"
	"os"
	"sync"

	"github.com/mp-go/mp/internal/proc"
)

// memPool keeps the in-memory files (memfd on Linux) that jobs write
// their output into, for the jobs after them: making and closing two of
// them per job was a sixth of mp run's own time on short jobs. A file
// comes back only when nothing else can write to it any more, and it
// comes back empty. A nil *memPool makes a new file every time.
type memPool struct {
	mu     sync.Mutex
	free   []*os.File
	limit  int // files kept at most
	closed bool
}

// newMemPool keeps up to limit files.
func newMemPool(limit int) *memPool { return &memPool{limit: limit} }

// get returns an empty file, positioned at its start.
func (p *memPool) get() (*os.File, error) {
	if p != nil {
		p.mu.Lock()
		if n := len(p.free); n > 0 {
			f := p.free[n-1]
			p.free = p.free[:n-1]
			p.mu.Unlock()
			return f, nil
		}
		p.mu.Unlock()
	}
	return proc.MemFile("mp-output")
}

// put takes f back, emptied of the size bytes it holds, or closes it
// (pool full or closed, or f cannot be emptied).
func (p *memPool) put(f *os.File, size int64) {
	if p == nil || !empty(f, size) {
		f.Close()
		return
	}
	p.mu.Lock()
	if p.closed || len(p.free) >= p.limit {
		p.mu.Unlock()
		f.Close()
		return
	}
	p.free = append(p.free, f)
	p.mu.Unlock()
}

// empty truncates f to nothing and moves its offset (shared with the job
// that wrote into it) back to the start.
func empty(f *os.File, size int64) bool {
	if size == 0 {
		return true // never written: still empty, at offset 0
	}
	if f.Truncate(0) != nil {
		return false
	}
	_, err := f.Seek(0, io.SeekStart)
	return err == nil
}

// close closes the files kept; files put back later are closed too.
func (p *memPool) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	free := p.free
	p.free, p.closed = nil, true
	p.mu.Unlock()
	for _, f := range free {
		f.Close()
	}
}
