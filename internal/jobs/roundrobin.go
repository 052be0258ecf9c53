package jobs

import (
	"fmt"
	"iter"
	"os"
	"sync"
	"sync/atomic"
)

// Robin deals blocks to the standard input of at most N long-lived jobs:
// GNU parallel's --pipe --round-robin. A job starts for each of the first
// N blocks; every later block goes to a job ready to take it (ordered:
// to the jobs in turn, so that each job's input is the same from run to
// run). The jobs' standard input ends when the blocks do.
//
// The blocks held at once are at most one per job and one more.
type Robin struct {
	blocks  iter.Seq2[[]byte, error]
	n       int
	ordered bool
	header  []byte

	once    sync.Once
	starts  chan robinStart
	stop    chan struct{}
	stopped sync.Once
	writers sync.WaitGroup

	mu    sync.Mutex
	files []*os.File // every pipe end, closed by Close
}

type robinStart struct {
	job *Job
	err error
}

// NewRobin deals blocks to at most n jobs; ordered deals them in turn;
// header (--header) starts each job's input.
func NewRobin(blocks iter.Seq2[[]byte, error], n int, ordered bool, header []byte) *Robin {
	return &Robin{blocks: blocks, n: max(n, 1), ordered: ordered, header: header,
		starts: make(chan robinStart, max(n, 1)+1), stop: make(chan struct{})}
}

// Jobs are the jobs to run, one for each of the first N blocks, yielded
// as the blocks come; each job's Input is the read end of its pipe. The
// sequence ends when the input has been dealt (or on a reading error).
// It is single-use; the dealing runs in its own goroutine, so that the
// jobs are fed whether or not the sequence is being pulled.
func (r *Robin) Jobs() iter.Seq2[*Job, error] {
	return func(yield func(*Job, error) bool) {
		r.once.Do(func() { go r.deal() })
		for s := range r.starts {
			if !yield(s.job, s.err) {
				return
			}
		}
	}
}

// Close stops the dealing, closes every pipe and waits for the
// goroutines that write into them. A dealer waiting for input ends with
// the next block or the end of the input.
func (r *Robin) Close() {
	r.stopped.Do(func() { close(r.stop) })
	r.mu.Lock()
	for _, f := range r.files {
		f.Close() // wakes a writer blocked on a full pipe
	}
	r.mu.Unlock()
	r.writers.Wait()
}

// robinWriter writes the blocks it is given into one job's pipe.
type robinWriter struct {
	pw   *os.File
	own  chan []byte   // ordered: this job's blocks
	done chan struct{} // closed when the writer stops (the job's input ended)
}

// deal reads the blocks and gives them to the jobs' writers.
func (r *Robin) deal() {
	defer close(r.starts)
	var ws []*robinWriter
	shared := make(chan []byte) // unordered: any ready writer takes the next block
	var alive atomic.Int32
	allDead := make(chan struct{})
	next := 0
	defer func() {
		for _, w := range ws {
			close(w.own)
		}
		close(shared)
	}()
	for b, err := range r.blocks {
		if err != nil {
			r.starts <- robinStart{err: err}
			return
		}
		select {
		case <-r.stop:
			return
		default:
		}
		if len(ws) < r.n {
			w, pr, err := r.newWriter()
			if err != nil {
				r.starts <- robinStart{err: fmt.Errorf("--round-robin: %w", err)}
				return
			}
			ws = append(ws, w)
			alive.Add(1)
			first := append(r.header[:len(r.header):len(r.header)], b...)
			src := shared
			if r.ordered {
				src = w.own
			}
			r.writers.Add(1)
			go func() {
				defer r.writers.Done()
				w.run(first, src)
				if alive.Add(-1) == 0 {
					close(allDead)
				}
			}()
			r.starts <- robinStart{job: &Job{Seq: len(ws), Input: pr}}
			continue
		}
		if !r.ordered {
			select {
			case shared <- b:
				continue
			case <-allDead:
				return // every job's input has ended: the rest is not read
			case <-r.stop:
				return
			}
		}
		sent := false
		for range ws {
			w := ws[next%len(ws)]
			next++
			select {
			case w.own <- b:
				sent = true
			case <-w.done: // that job's input ended: the next one's turn
				continue
			case <-r.stop:
				return
			}
			break
		}
		if !sent {
			return // every job's input has ended
		}
	}
}

// newWriter makes a job's pipe and its writer.
func (r *Robin) newWriter() (*robinWriter, *os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	r.files = append(r.files, pr, pw)
	r.mu.Unlock()
	return &robinWriter{pw: pw, own: make(chan []byte), done: make(chan struct{})}, pr, nil
}

// run writes first and then the blocks from src until src is closed or
// the job's input is closed (the job ended), then closes the pipe.
func (w *robinWriter) run(first []byte, src <-chan []byte) {
	defer close(w.done)
	defer w.pw.Close()
	if _, err := w.pw.Write(first); err != nil {
		return
	}
	for b := range src {
		if _, err := w.pw.Write(b); err != nil {
			return
		}
	}
}
