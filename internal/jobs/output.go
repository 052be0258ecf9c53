package jobs

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// spillLimit is how much of one job's stream is kept in memory; the rest
// goes to a temporary file, so that big outputs cost disk, not memory.
const spillLimit = 1 << 20

// spill holds one stream of a job's output until it is printed.
type spill struct {
	buf  bytes.Buffer
	f    *os.File
	size int64
	err  error // of the temporary file
	// pool is where f came from (file); f goes back to it on discard
	// if reuse says that nothing else can write to it any more and
	// sized that size is what f holds.
	pool  *memPool
	reuse bool
	sized bool
}

func (s *spill) Write(p []byte) (int, error) {
	s.size += int64(len(p))
	if s.f == nil && s.buf.Len()+len(p) > spillLimit && s.err == nil {
		if s.f, s.err = os.CreateTemp("", "mp-output-*"); s.err == nil {
			os.Remove(s.f.Name()) // gone when closed, whatever happens
			_, s.err = s.f.Write(s.buf.Bytes())
			s.buf.Reset()
		}
	}
	if s.f != nil && s.err == nil {
		if _, err := s.f.Write(p); err != nil {
			s.err = err
		}
		return len(p), nil
	}
	return s.buf.Write(p)
}

// file returns a temporary file for a job to write this stream into
// directly, or the spill itself (a writer os/exec copies a pipe into) if
// no file can be made.
func (s *spill) file(pool *memPool) io.Writer {
	f, err := pool.get()
	if err != nil {
		return s
	}
	s.f, s.pool = f, pool
	return f
}

// settle records the size of what the job wrote into the file.
func (s *spill) settle() {
	if s.f == nil {
		return
	}
	if n, err := s.f.Seek(0, io.SeekEnd); err == nil {
		s.size, s.sized = n, true
	}
}

// writeTo copies the stream to w.
func (s *spill) writeTo(w io.Writer) {
	if s == nil {
		return
	}
	if s.f != nil && s.size > 0 { // most short jobs write nothing: no seek, no copy
		if _, err := s.f.Seek(0, io.SeekStart); err == nil {
			io.Copy(w, s.f)
		}
	}
	if s.buf.Len() > 0 { // no system call for nothing
		w.Write(s.buf.Bytes())
	}
	if s.err != nil {
		fmt.Fprintf(w, "\nmp: output lost past %d bytes: %v\n", spillLimit, s.err)
	}
}

// discard lets go of what the stream holds.
func (s *spill) discard() {
	if s == nil {
		return
	}
	if s.f != nil {
		if s.pool != nil && s.reuse && s.sized {
			s.pool.put(s.f, s.size)
		} else {
			s.f.Close()
		}
		s.f = nil
	}
	s.pool, s.reuse, s.sized = nil, false, false
	s.buf = bytes.Buffer{}
	s.size = 0
}

// lineWriter passes whole lines to dst, each under mu and with prefix,
// so that lines of several jobs never mix (--line-buffer, --tag).
type lineWriter struct {
	dst    io.Writer
	mu     *sync.Mutex
	prefix string
	part   []byte
	count  *spill // counts the bytes, for the job log
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if w.count != nil {
		w.count.size += int64(len(p))
	}
	w.part = append(w.part, p...)
	i := bytes.LastIndexByte(w.part, '\n')
	if i < 0 {
		return len(p), nil
	}
	w.emit(w.part[:i+1])
	w.part = append(w.part[:0], w.part[i+1:]...)
	return len(p), nil
}

// flush writes a last line without its newline.
func (w *lineWriter) flush() {
	if len(w.part) > 0 {
		w.emit(append(w.part, '\n'))
		w.part = w.part[:0]
	}
}

func (w *lineWriter) emit(lines []byte) {
	if w.prefix != "" {
		var b bytes.Buffer
		for len(lines) > 0 {
			i := bytes.IndexByte(lines, '\n')
			b.WriteString(w.prefix)
			b.Write(lines[:i+1])
			lines = lines[i+1:]
		}
		lines = b.Bytes()
	}
	if w.mu != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	w.dst.Write(lines)
}

// readJobLog reads a job log for --resume: the commands of the jobs it
// has (or, failedToo false, only of those that succeeded).
func readJobLog(path string, onlySucceeded bool) (map[string]bool, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--joblog: %w", err)
	}
	defer f.Close()
	done := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for first := true; sc.Scan(); first = false {
		cols := strings.SplitN(sc.Text(), "\t", 9)
		if first && len(cols) > 0 && cols[0] == "Seq" {
			continue
		}
		if len(cols) != 9 {
			return nil, fmt.Errorf("--joblog %s: line %q is not a job log line (9 tab-separated columns)", path, sc.Text())
		}
		exit, err1 := strconv.Atoi(cols[6])
		sig, err2 := strconv.Atoi(cols[7])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("--joblog %s: bad Exitval or Signal in %q", path, sc.Text())
		}
		if !onlySucceeded || (exit == 0 && sig == 0) {
			done[cols[8]] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--joblog %s: %w", path, err)
	}
	return done, nil
}

// dropFirstLine passes on what is written after the first newline
// (--header-once).
type dropFirstLine struct {
	w    io.Writer
	past bool
}

func (d *dropFirstLine) Write(p []byte) (int, error) {
	n := len(p)
	if !d.past {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return n, nil
		}
		d.past, p = true, p[i+1:]
	}
	if len(p) > 0 {
		if _, err := d.w.Write(p); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// passThrough is -u's writer: the stream itself when it is a file (the
// job writes to it directly), else writes under mu.
func passThrough(w io.Writer, mu *sync.Mutex) io.Writer {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return &lockedWriter{w: w, mu: mu}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// print writes a finished job's output: stdout then stderr, whole, with
// --tag's prefix on every line.
func (r *Runner) print(res *result) {
	defer res.out.discard()
	defer res.err2.discard()
	if r.cfg.JobLog == "-" {
		// the job log on standard output: after the job's output, as
		// GNU parallel writes it
		defer func() {
			r.mu.Lock()
			r.logRow(res)
			r.mu.Unlock()
		}()
	}
	r.writeRow(res)
	if r.cfg.Trace && r.cfg.KeepOrder {
		r.outMu.Lock()
		fmt.Fprintln(r.cfg.Stderr, res.command)
		r.outMu.Unlock()
	}
	if r.cfg.LineBuffer || r.cfg.Ungroup {
		fmt.Fprint(r.cfg.Stderr, res.haltMsg)
		return // already printed
	}
	r.outMu.Lock()
	defer r.outMu.Unlock()
	if res.haltMsg != "" {
		defer fmt.Fprint(r.cfg.Stderr, res.haltMsg) // after the job's output, as GNU parallel
	}
	if r.cfg.Verbose {
		fmt.Fprintln(r.cfg.Stdout, res.command)
	}
	if res.timedOut {
		defer fmt.Fprintf(r.cfg.Stderr, "mp: Warning: This job was killed because it timed out:\nmp: Warning: %s\n", res.command)
	}
	if r.cfg.Results != "" {
		return // in the --results files only, as GNU parallel 20221122 does
	}
	for i, s := range []struct {
		sp *spill
		w  io.Writer
	}{{res.out, r.cfg.Stdout}, {res.err2, r.cfg.Stderr}} {
		if i == 0 && r.cfg.HeaderOnce {
			if r.headerOut {
				s.w = &dropFirstLine{w: s.w}
			} else if s.sp.size > 0 {
				r.headerOut = true
			}
		}
		if r.cfg.Tag {
			lw := &lineWriter{dst: s.w, mu: new(sync.Mutex), prefix: r.tagOf(res.job, res.slot)}
			s.sp.writeTo(lw)
			lw.flush()
		} else {
			s.sp.writeTo(s.w)
		}
	}
}

// lines makes the writer of --line-buffer: whole lines to dst as they
// come, counted in sp.
func (r *Runner) lines(dst io.Writer, j *Job, slot int, sp *spill) *lineWriter {
	lw := &lineWriter{dst: dst, mu: &r.outMu, count: sp}
	if r.cfg.Tag {
		lw.prefix = r.tagOf(j, slot)
	}
	return lw
}

// takeSlot returns the lowest free job slot ({%}), from 1.
func (r *Runner) takeSlot() int {
	r.slotMu.Lock()
	defer r.slotMu.Unlock()
	for i, used := range r.slotsUsed {
		if !used {
			r.slotsUsed[i] = true
			return i + 1
		}
	}
	r.slotsUsed = append(r.slotsUsed, true)
	return len(r.slotsUsed)
}

func (r *Runner) freeSlot(slot int) {
	r.slotMu.Lock()
	r.slotsUsed[slot-1] = false
	r.slotMu.Unlock()
}
