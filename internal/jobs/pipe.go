package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"regexp"
)

// PipeOptions say how --pipe and --pipepart cut their input into blocks
// of whole records.
type PipeOptions struct {
	Block    int    // --block: bytes per job, about (whole records)
	RecStart string // --recstart: records start with this
	RecEnd   string // --recend: records end with this ("\n" if both are empty)
	Records  int    // -N: records per job instead of --block
	// Regexp is --regexp: RecStart and RecEnd are regular expressions.
	Regexp bool

	startRe, endRe *regexp.Regexp // compiled: --regexp's
}

// compiled is o with its --regexp expressions compiled.
func (o PipeOptions) compiled() (PipeOptions, error) {
	if !o.Regexp {
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
	endS, startS := o.RecEnd, o.RecStart
	if endS == "" && startS == "" {
		endS = "\n"
	}
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

// lastBoundary is the last boundary in b[:limit], -1 if none.
func (o PipeOptions) lastBoundary(b []byte, limit int) int {
	last := -1
	for at := o.boundary(b, 0); at >= 0 && at <= limit; at = o.boundary(b, at) {
		last = at
		if at == len(b) {
			break
		}
	}
	return last
}

// Blocks cuts r into blocks of whole records, read as they are needed:
// the memory held is about one block plus what the jobs hold.
func Blocks(r io.Reader, o PipeOptions) iter.Seq2[[]byte, error] {
	if o.Block <= 0 {
		o.Block = 1 << 20
	}
	o, err := o.compiled()
	if err != nil {
		return func(yield func([]byte, error) bool) { yield(nil, err) }
	}
	return func(yield func([]byte, error) bool) {
		var buf []byte
		eof := false
		chunk := make([]byte, 64<<10)
		fill := func() error {
			n, err := r.Read(chunk)
			buf = append(buf, chunk[:n]...)
			if errors.Is(err, io.EOF) {
				eof = true
				return nil
			}
			return err
		}
		for {
			cut := -1
			if o.Records > 0 {
				at, k := 0, 0
				for k < o.Records {
					next := o.boundary(buf, at)
					if next < 0 || next == at {
						break
					}
					at, k = next, k+1
				}
				if k == o.Records {
					cut = at
				}
			} else if len(buf) >= o.Block {
				if cut = o.lastBoundary(buf, o.Block); cut <= 0 {
					cut = o.boundary(buf, o.Block) // a record longer than a block
				}
			}
			if cut <= 0 && eof {
				if len(buf) > 0 {
					yield(buf, nil)
				}
				return
			}
			if cut > 0 {
				block := bytes.Clone(buf[:cut])
				buf = append(buf[:0], buf[cut:]...)
				if !yield(block, nil) {
					return
				}
				continue
			}
			if err := fill(); err != nil {
				yield(nil, fmt.Errorf("reading standard input: %w", err))
				return
			}
		}
	}
}

// Part is a section of a file, a job's standard input for --pipepart.
type Part struct {
	Path     string
	Off, Len int64
}

// Parts cuts the file at path into sections of about o.Block bytes each
// ending at a record boundary, reading only near the cuts.
func Parts(path string, o PipeOptions) ([]Part, error) {
	if o.Block <= 0 {
		o.Block = 1 << 20
	}
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
	buf := make([]byte, 64<<10)
	for off < size {
		end := off + int64(o.Block)
		if end >= size {
			parts = append(parts, Part{path, off, size - off})
			break
		}
		// the first boundary at or after end
		cut := int64(-1)
		for pos := end - int64(max(len(o.RecEnd), len(o.RecStart))); cut < 0 && pos < size; pos += int64(len(buf)) / 2 {
			pos = max(pos, off)
			n, err := f.ReadAt(buf, pos)
			if n == 0 && err != nil {
				break
			}
			from := int(max(end-pos, 0))
			if at := o.boundary(buf[:n], from); at >= 0 && (at < n || pos+int64(n) >= size) {
				cut = pos + int64(at)
			}
		}
		if cut < 0 {
			cut = size
		}
		parts = append(parts, Part{path, off, cut - off})
		off = cut
	}
	return parts, nil
}
