package jobs

// This file fills command lines for -m and -X as GNU parallel does: each
// job gets inputs until its command line would reach -s/--max-chars; at
// the end of the input, the inputs of the last line are spread over the
// job slots.

import (
	"errors"
	"fmt"
	"iter"
	"strings"
)

// DefaultMaxChars is GNU parallel's default -s on Linux: its command line
// limit (130329, the kernel's 128 KiB per argument less what it keeps)
// less 3000, halved for its own quoting. A shell template's line is one
// argument of $SHELL -c, so the kernel's 128 KiB per argument bounds it.
const DefaultMaxChars = 63664

// MaxMaxChars is the largest -s: the kernel's limit for one argument
// (MAX_ARG_STRLEN, 128 KiB on Linux), which a shell template's line is,
// less room for the shell's name and options.
const MaxMaxChars = 128<<10 - 1024

// ErrLineTooLong is returned when one input alone makes a command line
// longer than -s allows.
var ErrLineTooLong = errors.New("command line too long")

// lineMeter measures a -m or -X command line as inputs are added, without
// making it: base is its length with no input, per the length each of an
// input's values adds (a space and its text, for each place it goes).
type lineMeter struct {
	t     *Template
	words [][]segment // -X: the words repeated for each value; else the segments
	base  int
	sep   int // spaces a value adds
	ready bool
}

func newLineMeter(t *Template) *lineMeter {
	m := &lineMeter{t: t}
	switch {
	case t.appendArgs:
		m.sep = 1
	case t.context:
		for _, w := range splitWords(t.line) {
			if containsArgs(w) {
				m.words = append(m.words, w)
			}
		}
		m.sep = len(m.words)
	default:
		for _, s := range t.line {
			if containsArgs([]segment{s}) {
				m.words = append(m.words, []segment{s})
			}
		}
		m.sep = len(m.words)
	}
	return m
}

// containsArgs reports whether w has a replacement string that stands
// for every value ({}, {.}..., {= perl =} without a column).
func containsArgs(w []segment) bool {
	for _, s := range w {
		if s.ph != nil && (s.ph.kind == 'a' || s.ph.kind == 'p') && s.ph.col == 0 {
			return true
		}
	}
	return false
}

// valueLen is the length one value adds, its separating spaces included.
func (m *lineMeter) valueLen(v string) int {
	if m.t.appendArgs {
		return m.sep + len(shellQuote(v))
	}
	n := m.sep
	j := &Job{Args: []string{v}}
	for _, w := range m.words {
		if hasPerl(w) {
			// not run twice for its length: estimated as the value
			n += len(shellQuote(v))
			continue
		}
		n += len((&Template{line: w}).Display(j, 1))
	}
	return n
}

func hasPerl(w []segment) bool {
	for _, s := range w {
		if s.ph != nil && s.ph.kind == 'p' {
			return true
		}
	}
	return false
}

// inputLen is the length an input (a value per input source) adds; the
// first input also fixes the line's base length.
func (m *lineMeter) inputLen(in []string) int {
	n := 0
	for _, v := range in {
		n += m.valueLen(v)
	}
	if !m.ready {
		m.ready = true
		m.base = len(m.t.Display(&Job{Args: in}, 1)) - n + m.sep
	}
	return n
}

// fill is Apply for -m and -X.
func (g Grouping) fill(in iter.Seq2[[]string, error]) iter.Seq2[[]string, error] {
	return func(yield func([]string, error) bool) {
		next, stop := iter.Pull2(in)
		defer stop()
		var queue [][]string // inputs put back, in order
		var inErr error
		eof := false
		peek := func() bool { // whether there is an input left
			if len(queue) > 0 {
				return true
			}
			if eof {
				return false
			}
			a, err, ok := next()
			switch {
			case !ok:
				eof = true
				return false
			case err != nil:
				inErr, eof = err, true
				return false
			}
			queue = append(queue, a)
			return true
		}
		m := newLineMeter(g.Fill)
		maxArgs, spread, seen := g.MaxArgs, false, 0
		for peek() {
			var cur [][]string
			length := 0
			for peek() {
				a := queue[0]
				queue = queue[1:]
				seen++
				cur = append(cur, a)
				length += m.inputLen(a)
				if m.base-m.sep+length >= g.MaxChars {
					if len(cur) > 1 {
						queue = append([][]string{a}, queue...) // for the next line
						cur = cur[:len(cur)-1]
						break
					}
					text := strings.Join(a, " ")
					if len(text) > 50 {
						text = text[:50] + "..."
					}
					yield(nil, fmt.Errorf("%w (%d >= -s %d) at input %d: %s", ErrLineTooLong, m.base-m.sep+length, g.MaxChars, seen, text))
					return
				}
				if maxArgs > 0 && len(cur) >= maxArgs {
					break
				}
			}
			if !spread && g.Slots > 0 && !peek() && inErr == nil {
				// the end of the input: spread this line's inputs over
				// the job slots, as GNU parallel does
				spread = true
				if len(cur) > 1 {
					maxArgs = (len(cur) + g.Slots - 1) / g.Slots
					queue = append(cur[maxArgs:], queue...)
					cur = cur[:maxArgs]
				}
			}
			var args []string
			for _, a := range cur {
				args = append(args, a...)
			}
			if !yield(args, nil) {
				return
			}
		}
		if inErr != nil {
			yield(nil, inErr)
		}
	}
}
