// Package csvgroup splits a CSV file into the groups of rows that share
// the values of key columns, for mp groupby: groups need not be adjacent,
// come out in first-seen order, and each is written as a CSV file with the
// header, so that a command can read it on its standard input. Memory
// stays bounded: rows are kept in memory up to a budget, then appended to
// one temporary file per group; with Sorted (the input's groups are
// adjacent) each group is emitted as soon as it ends.
package csvgroup

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Group is one group: its number (1, 2, ... in first-seen order), its key
// values (in the order of the key columns), and the CSV file holding the
// header and its rows.
type Group struct {
	Seq  int
	Key  []string
	File string
	Rows int
}

// Options configure a split.
type Options struct {
	By     []string // key columns, by header name
	Dir    string   // where the group files go (a new temporary directory if "")
	Budget int64    // bytes of rows kept in memory before spilling (default 64 MiB)
	Sorted bool     // groups are adjacent: emit each as soon as it ends
}

// Split reads CSV from r and yields its groups. The files live in a
// directory that the returned cleanup removes.
func Split(r io.Reader, o Options) (groups iter.Seq2[*Group, error], cleanup func(), err error) {
	if len(o.By) == 0 {
		return nil, nil, errors.New("no key column given")
	}
	if o.Budget <= 0 {
		o.Budget = 64 << 20
	}
	dir := o.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "mp-groupby-*"); err != nil {
			return nil, nil, err
		}
	}
	cleanup = func() { os.RemoveAll(dir) }
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		cleanup()
		if err == io.EOF {
			return nil, nil, errors.New("the CSV input is empty: it needs a header row")
		}
		return nil, nil, fmt.Errorf("reading the CSV header: %w", err)
	}
	header = slices.Clone(header)
	cols := make([]int, len(o.By))
	for i, name := range o.By {
		cols[i] = slices.Index(header, name)
		if cols[i] < 0 {
			cleanup()
			return nil, nil, fmt.Errorf("no column %q in the header (%s)", name, strings.Join(header, ", "))
		}
	}
	s := &splitter{dir: dir, header: header, cols: cols, budget: o.Budget, index: map[string]*pending{}}
	return func(yield func(*Group, error) bool) {
		if o.Sorted {
			s.adjacent(cr, yield)
		} else {
			s.all(cr, yield)
		}
	}, cleanup, nil
}

type splitter struct {
	dir    string
	header []string
	cols   []int
	budget int64
	held   int64 // bytes of rows in memory
	order  []*pending
	index  map[string]*pending
}

// pending is a group being gathered: rows in memory (CSV-encoded) and, once
// it spilled, a file.
type pending struct {
	g   Group
	buf bytes.Buffer
	w   *csv.Writer
	key string
}

func (s *splitter) group(rec []string) *pending {
	key := make([]string, len(s.cols))
	for i, c := range s.cols {
		key[i] = rec[c]
	}
	k := strings.Join(key, "\x00")
	if p := s.index[k]; p != nil {
		return p
	}
	p := &pending{g: Group{Seq: len(s.order) + 1, Key: key}, key: k}
	p.g.File = filepath.Join(s.dir, fmt.Sprintf("group-%d.csv", p.g.Seq))
	p.w = csv.NewWriter(&p.buf)
	p.w.Write(s.header)
	s.index[k] = p
	s.order = append(s.order, p)
	return p
}

// add puts a row in its group, spilling every group's rows to its file
// when the memory budget is spent.
func (s *splitter) add(p *pending, rec []string) error {
	before := p.buf.Len()
	p.w.Write(rec)
	p.w.Flush()
	p.g.Rows++
	s.held += int64(p.buf.Len() - before)
	if s.held > s.budget {
		for _, q := range s.order {
			if err := q.spill(); err != nil {
				return err
			}
		}
		s.held = 0
	}
	return nil
}

// spill appends the group's rows in memory to its file.
func (p *pending) spill() error {
	if p.buf.Len() == 0 {
		return nil
	}
	f, err := os.OpenFile(p.g.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spilling group %d: %w", p.g.Seq, err)
	}
	_, err = f.Write(p.buf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spilling group %d: %w", p.g.Seq, err)
	}
	p.buf.Reset()
	return nil
}

func (s *splitter) read(cr *csv.Reader) ([]string, error) {
	rec, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, err
		}
		return nil, fmt.Errorf("reading the CSV input: %w", err)
	}
	return rec, nil
}

// all reads every row, then yields the groups in first-seen order.
func (s *splitter) all(cr *csv.Reader, yield func(*Group, error) bool) {
	for {
		rec, err := s.read(cr)
		if err == io.EOF {
			break
		}
		if err != nil {
			yield(nil, err)
			return
		}
		if err := s.add(s.group(rec), rec); err != nil {
			yield(nil, err)
			return
		}
	}
	for _, p := range s.order {
		if err := p.spill(); err != nil {
			yield(nil, err)
			return
		}
		p.w = nil
		if !yield(&p.g, nil) {
			return
		}
	}
}

// adjacent yields each group as soon as the key changes.
func (s *splitter) adjacent(cr *csv.Reader, yield func(*Group, error) bool) {
	var cur *pending
	flush := func() bool {
		if cur == nil {
			return true
		}
		if err := cur.spill(); err != nil {
			yield(nil, err)
			return false
		}
		delete(s.index, cur.key) // a key seen again later is a new group
		s.order = s.order[:0]
		s.held = 0
		g := cur.g
		cur = nil
		return yield(&g, nil)
	}
	seq := 0
	for {
		rec, err := s.read(cr)
		if err == io.EOF {
			flush()
			return
		}
		if err != nil {
			yield(nil, err)
			return
		}
		p := s.group(rec)
		if p != cur {
			if !flush() {
				return
			}
			seq++
			p.g.Seq = seq
			p.g.File = filepath.Join(s.dir, fmt.Sprintf("group-%d.csv", seq))
			cur = p
			s.order = append(s.order[:0], p) // what add may spill
		}
		if err := s.add(p, rec); err != nil {
			yield(nil, err)
			return
		}
	}
}
