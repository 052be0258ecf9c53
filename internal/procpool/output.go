package procpool

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// outputLocks serialises whole lines written to one destination by the
// output of several workers.
var outputLocks sync.Map // io.Writer -> *sync.Mutex

// taggedWriter copies a worker's output to dst line by line, each line
// prefixed with the worker and its pid: "[mp worker 2 pid 4711] ". Lines
// of several workers never interleave. (The task is not named: output
// reaches the parent asynchronously, so any task named could be the
// wrong one.)
type taggedWriter struct {
	dst    io.Writer
	mu     *sync.Mutex
	pid    int
	prefix []byte // read and written under mu
	buf    []byte
	seen   func(line []byte) // not nil: shown each line (the Go runtime's out-of-memory message)
}

func newTaggedWriter(dst io.Writer, id, pid int, seen func([]byte)) *taggedWriter {
	mu, _ := outputLocks.LoadOrStore(dst, new(sync.Mutex))
	return &taggedWriter{dst: dst, mu: mu.(*sync.Mutex), pid: pid, prefix: fmt.Appendf(nil, "[mp worker %d pid %d] ", id, pid), seen: seen}
}

// setID tags the lines from now on with worker number id: a spare worker
// (spare.go) learns its number when a pool takes it.
func (w *taggedWriter) setID(id int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.prefix = fmt.Appendf(nil, "[mp worker %d pid %d] ", id, w.pid)
}

// Write is called by os/exec's copying goroutine only.
func (w *taggedWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a very long line without end: pass it on
		w.emit(append(w.buf, '\n'))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// Close writes a last line without its newline.
func (w *taggedWriter) Close() error {
	if len(w.buf) > 0 {
		w.emit(append(w.buf, '\n'))
		w.buf = nil
	}
	return nil
}

func (w *taggedWriter) emit(line []byte) {
	if w.seen != nil {
		w.seen(line)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.dst.Write(append(w.prefix[:len(w.prefix):len(w.prefix)], line...))
}
