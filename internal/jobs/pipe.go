package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"regexp"
	"sync"
)

// PipeOptions say how --pipe and --pipepart cut their input into blocks
// of whole records.
type PipeOptions struct {
	Block    int    // --block: bytes per job, about (whole records)
	RecStart string // --recstart: records start with this
	RecEnd   string // --recend: records end with this ("\n" if both are empty)
	// EveryByte makes every byte a record: GNU parallel's --recend '' or
	// --recstart '' with no other separator (RecStart and RecEnd are
	// ignored).
	EveryByte bool
	Records   int // -N: records per job instead of --block
	// Lines is -L N (or -l N) with --pipe: a record is N lines, and a
	// block holds whole records (with -N: N×L lines a job).
	Lines int
	// Regexp is --regexp: RecStart and RecEnd are regular expressions.
	Regexp bool

	startRe, endRe *regexp.Regexp // compiled: --regexp's
}

// maxBlock is where a block stops growing for a record longer than it:
// GNU parallel's 2 GB - 1.
const maxBlock = 1<<31 - 1

// compiled is o with its defaults set and its --regexp expressions
// compiled.
func (o PipeOptions) compiled() (PipeOptions, error) {
	if o.Block <= 0 {
		o.Block = 1 << 20
	}
	if o.RecEnd == "" && o.RecStart == "" && !o.EveryByte {
		o.RecEnd = "\n"
	}
	if !o.Regexp || o.EveryByte {
		return o, nil
	}
	var err error
	for _, x := range []struct {
		s  string
		re **regexp.Regexp
	}{{o.RecStart, &o.startRe}, {o.RecEnd, &o.endRe}} {
		if x.s != "" {
			if *x.re, err = regexp.Compile(x.s); err != nil {
				return o, fmt.Errorf("--regexp: %w", err)
			}
		}
	}
	return o, nil
}

// find finds a record start or end in b: its index and length; -1 if
// none.
func find(b []byte, lit string, re *regexp.Regexp) (int, int) {
	if re != nil {
		loc := re.FindIndex(b)
		if loc == nil {
			return -1, 0
		}
		return loc[0], loc[1] - loc[0]
	}
	return bytes.Index(b, []byte(lit)), len(lit)
}

// boundary returns where a block may end in b at or after from: just
// after a record end (followed by a record start when both are given),
// or before a record start; -1 if none.
func (o PipeOptions) boundary(b []byte, from int) int {
	if o.EveryByte {
		if at := max(from, 1); at <= len(b) {
			return at
		}
		return -1
	}
	endS, startS := o.RecEnd, o.RecStart
	for i := from; i < len(b); {
		if endS != "" {
			k, n := find(b[i:], endS, o.endRe)
			if k < 0 {
				return -1
			}
			at := i + k + max(n, 1) // past an empty match too
			if startS == "" {
				return min(at, len(b))
			}
			if k2, _ := find(b[at:], startS, o.startRe); k2 == 0 {
				if at < len(b) {
					return at
				}
				return -1 // the start may follow in data not read yet
			}
			if at >= len(b) {
				return -1
			}
			i = at
			continue
		}
		k, n := find(b[i:], startS, o.startRe)
		if k < 0 {
			return -1
		}
		if at := i + k; at > 0 {
			return at
		}
		i = max(n, 1)
	}
	return -1
}

// lastCut is where a block of b ends without -N: after the last record
// boundary in b, 0 if none (GNU parallel's rindex of recend.recstart).
func (o PipeOptions) lastCut(b []byte) int {
	switch {
	case o.EveryByte:
		return len(b)
	case o.Lines > 0:
		// whole records of o.Lines lines: back from the last line end
		n := bytes.Count(b, nl) % o.Lines
		end := bytes.LastIndexByte(b, '\n')
		for ; n > 0 && end >= 0; n-- {
			end = bytes.LastIndexByte(b[:end], '\n')
		}
		return end + 1
	case o.Regexp:
		last := 0
		for at := o.boundary(b, 0); at > 0; at = o.boundary(b, at) {
			last = at
			if at == len(b) {
				break
			}
		}
		return last
	}
	if i := bytes.LastIndex(b, []byte(o.RecEnd+o.RecStart)); i >= 0 {
		return i + len(o.RecEnd)
	}
	return 0
}

var nl = []byte{'\n'}

// nthCut is where the first n records of b end (-N), 0 if b may hold
// fewer. As GNU parallel's, a separator at the very start of b does not
// count; with EveryByte the cut is at most the end of b once b is a
// whole block (full) or the end of the input. st carries the search
// from one call to the next while b only grows.
func (o PipeOptions) nthCut(b []byte, n int, full bool, st *sepScan) int {
	switch {
	case o.EveryByte:
		if len(b) >= n {
			return n
		}
		if full {
			return len(b)
		}
		return 0
	case o.Regexp:
		at := 0
		for range n {
			next := o.boundary(b, at)
			if next <= at {
				return 0
			}
			at = next
		}
		return at
	}
	sep := []byte(o.RecEnd + o.RecStart)
	for st.k < n {
		from := max(st.at+1, st.seen-len(sep)+1)
		k := -1
		if from < len(b) {
			k = bytes.Index(b[from:], sep)
		}
		if k < 0 {
			st.seen = len(b)
			return 0
		}
		st.at, st.k = from+k, st.k+1
	}
	return st.at + len(o.RecEnd)
}

// sepScan is how far nthCut has searched: k separators found, the last at
// at; none starts before seen but those.
type sepScan struct{ at, k, seen int }

// Blocks cuts r into blocks of whole records, read as they are needed:
// the memory held is about one block plus what the jobs hold. The blocks
// are GNU parallel's: up to o.Block bytes are read, and the block ends
// at the last record boundary in them; a record longer than a block
// grows the block by 30% until it fits. With -N a block is cut as soon as
// its records have been read (GNU parallel waits for a whole --block).
func Blocks(r io.Reader, o PipeOptions) iter.Seq2[[]byte, error] {
	o, err := o.compiled()
	if err != nil {
		return func(yield func([]byte, error) bool) { yield(nil, err) }
	}
	n := o.Records * max(o.Lines, 1)
	if o.Records <= 0 {
		n = 0
	}
	grow := func(size int) int { return min(int(math.Ceil(float64(size)*1.3+1)), maxBlock) }
	return func(yield func([]byte, error) bool) {
		size := o.Block
		b := &blockBuf{}
		var st sepScan
		for {
			if n > 0 {
				// -N: every n records, cut as soon as they are here
				for {
					full := b.eof || len(b.live()) >= size
					cut := o.nthCut(b.live(), n, full, &st)
					if cut <= 0 {
						break
					}
					if !yield(b.take(cut, size), nil) {
						return
					}
					st = sepScan{}
				}
				if b.eof {
					break
				}
				if len(b.live()) >= size {
					size = grow(size)
				}
				if err := b.read(r, size, true); err != nil {
					yield(nil, fmt.Errorf("reading standard input: %w", err))
					return
				}
				continue
			}
			if err := b.read(r, size, false); err != nil {
				yield(nil, fmt.Errorf("reading standard input: %w", err))
				return
			}
			cut := 0
			if o.Lines > 0 || !b.eof {
				cut = o.lastCut(b.live())
			}
			if cut > 0 {
				if !yield(b.take(cut, size), nil) {
					return
				}
			}
			if b.eof {
				break
			}
			if cut <= 0 {
				size = grow(size)
			}
		}
		if rest := b.live(); len(rest) > 0 {
			yield(rest, nil)
		}
	}
}

// blockBuf is the input read but not yet cut into blocks: buf[off:].
type blockBuf struct {
	buf []byte
	off int
	eof bool
}

func (b *blockBuf) live() []byte { return b.buf[b.off:] }

// read reads until size bytes are held or the input ends; once: with
// one read only.
func (b *blockBuf) read(r io.Reader, size int, once bool) error {
	have := len(b.buf) - b.off
	if b.eof || have >= size {
		return nil
	}
	if b.off+size > cap(b.buf) {
		buf := b.buf
		if size > cap(b.buf) {
			buf = make([]byte, have, size)
		}
		b.buf = buf[:copy(buf[:have], b.buf[b.off:])]
		b.off = 0
	}
	for len(b.buf)-b.off < size {
		n, err := r.Read(b.buf[len(b.buf) : b.off+size])
		b.buf = b.buf[:len(b.buf)+n]
		if errors.Is(err, io.EOF) {
			b.eof = true
			return nil
		}
		if err != nil {
			return err
		}
		if once && n > 0 {
			return nil
		}
	}
	return nil
}

// take cuts the first n bytes off as a block the caller owns. A big
// block is handed over as it is (the rest moves to a new buffer); a
// small one is copied.
func (b *blockBuf) take(n, size int) []byte {
	live := b.live()
	if n < len(live)/2 || n < 64<<10 {
		b.off += n
		return bytes.Clone(live[:n])
	}
	block := live[:n] // its capacity goes with it, for ReuseBlock
	rest := live[n:]
	b.buf = newBlockBuf(len(rest), max(size, len(rest)))
	copy(b.buf, rest)
	b.off = 0
	return block
}

// blockPool holds the memory of blocks given back with ReuseBlock.
var blockPool sync.Pool

// ReuseBlock gives back a block that Blocks yielded, once nothing reads
// it any more (its job has ended): the next blocks are read into its
// memory instead of new memory, which the kernel would have to zero and
// map page by page. Calling it is optional; small blocks are ignored.
func ReuseBlock(b []byte) {
	if cap(b) >= 64<<10 {
		b = b[:0]
		blockPool.Put(&b)
	}
}

// newBlockBuf is a buffer of length n and capacity c at least, from the
// blocks given back if one is big enough.
func newBlockBuf(n, c int) []byte {
	if p, ok := blockPool.Get().(*[]byte); ok && cap(*p) >= c {
		return (*p)[:n]
	}
	return make([]byte, n, c)
}

// Part is a section of a file, a job's standard input for --pipepart.
type Part struct {
	Path     string
	Off, Len int64
}

// Parts cuts the file at path into sections of about o.Block bytes each
// ending at a record boundary, reading only near the cuts. The cuts are
// GNU parallel's: the first record end that starts at or after a block's
// size from the last cut.
func Parts(path string, o PipeOptions) ([]Part, error) {
	o, err := o.compiled()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--pipepart: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("--pipepart: %w", err)
	}
	size := st.Size()
	var parts []Part
	var off int64
	for pos := int64(o.Block); pos < size; pos += int64(o.Block) {
		cut := pos
		if !o.EveryByte {
			if cut, err = o.nextCut(f, pos, size); err != nil {
				return nil, fmt.Errorf("--pipepart: %w", err)
			}
			if cut < 0 {
				break // no record ends after pos: the rest is the last part
			}
		}
		parts = append(parts, Part{path, off, cut - off})
		off, pos = cut, cut
	}
	if off < size {
		parts = append(parts, Part{path, off, size - off})
	}
	return parts, nil
}

// nextCut finds in f the first record end starting at or after pos and
// returns the offset just past it; -1 if there is none.
func (o PipeOptions) nextCut(f *os.File, pos, size int64) (int64, error) {
	const chunk = 128 << 10
	var buf []byte
	for read := pos; read < size; {
		n := int(min(chunk, size-read))
		buf = append(buf, make([]byte, n)...)
		if _, err := f.ReadAt(buf[len(buf)-n:], read); err != nil && !errors.Is(err, io.EOF) {
			return -1, err
		}
		read += int64(n)
		if o.Regexp {
			// the whole buffer is searched again: regexps are slow anyway
			if at := o.boundary(buf, 0); at > 0 && (at < len(buf) || read >= size) {
				return pos + int64(at), nil
			}
			continue
		}
		sep := []byte(o.RecEnd + o.RecStart)
		from := max(len(buf)-n-len(sep)+1, 0) // only what this read added
		if i := bytes.Index(buf[from:], sep); i >= 0 {
			return pos + int64(from+i+len(o.RecEnd)), nil
		}
	}
	return -1, nil
}
