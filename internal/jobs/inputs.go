package jobs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Source is one input source: the values after a ":::", the lines of a
// file (":::: FILE", -a FILE) or of standard input.
type Source struct {
	name   string
	vals   []string  // ::: values
	path   string    // a file, "-" for standard input
	stdin  io.Reader // standard input
	linked bool      // ":::+" / "::::+": paired with the source before
	skip   int       // values to drop at the start: a header line already read
}

// Args is a source of the values given on the command line (:::).
func Args(vals []string, linked bool) Source {
	return Source{name: ":::", vals: vals, linked: linked}
}

// File is a source of the lines of a file (::::, -a); "-" reads stdin.
func File(path string, stdin io.Reader, linked bool) Source {
	if path == "-" {
		return Source{name: "standard input", stdin: stdin, linked: linked}
	}
	return Source{name: path, path: path, linked: linked}
}

// Stdin is a source of the lines of standard input, the default.
func Stdin(r io.Reader) Source { return Source{name: "standard input", stdin: r} }

// InputOptions say how input sources become arguments.
type InputOptions struct {
	Colsep *regexp.Regexp // --colsep: split each value into columns
	// Trim is --trim: "l", "r", "lr" or "rl" trims white space on that
	// side of each value (each column with Colsep); "n" trims nothing.
	// "" is GNU parallel's default: "lr" with Colsep, else "n".
	Trim string
	// Delim is -d: the end of a value (any string, such as "\r\n" or
	// "\n\n"); "" is a newline. A Delim other than a newline also splits
	// the values given after :::, as GNU parallel does.
	Delim string
	Null  bool // -0: values end with NUL
	Link  bool // --link: every source pairs with the one before, the shorter wrapping
	// EOF is -E: a source ends at a value (a whole line, before
	// --colsep splits it) equal to it, as in GNU parallel; "" for none.
	EOF string
}

// values yields the source's values: lines without their newline, up
// to -E's end of file value.
func (s Source) values(o InputOptions) iter.Seq2[string, error] {
	if o.EOF == "" {
		return s.allValues(o)
	}
	return func(yield func(string, error) bool) {
		for v, err := range s.allValues(o) {
			if err == nil && v == o.EOF {
				return
			}
			if !yield(v, err) {
				return
			}
		}
	}
}

// allValues yields the source's values: lines without their newline.
func (s Source) allValues(o InputOptions) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if s.vals != nil || (s.path == "" && s.stdin == nil) {
			for _, v := range s.vals {
				if o.Delim != "" && o.Delim != "\n" && !o.Null {
					parts := strings.Split(v, o.Delim)
					if len(parts) > 1 && parts[len(parts)-1] == "" {
						parts = parts[:len(parts)-1]
					}
					for _, p := range parts {
						if !yield(p, nil) {
							return
						}
					}
					continue
				}
				if !yield(v, nil) {
					return
				}
			}
			return
		}
		r := s.stdin
		if s.path != "" {
			f, err := os.Open(s.path)
			if err != nil {
				yield("", fmt.Errorf("input source: %w", err))
				return
			}
			defer f.Close()
			r = f
		}
		delim := o.delimiter()
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			line, err := readUntil(br, delim)
			if line != "" {
				line = strings.TrimSuffix(line, delim)
				if !yield(line, nil) {
					return
				}
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield("", fmt.Errorf("reading %s: %w", s.name, err))
				return
			}
		}
	}
}

// delimiter is the string that ends a value read from a file.
func (o InputOptions) delimiter() string {
	switch {
	case o.Null:
		return "\x00"
	case o.Delim != "":
		return o.Delim
	}
	return "\n"
}

// readUntil reads up to and including delim (any length) or the end of
// the input.
func readUntil(br *bufio.Reader, delim string) (string, error) {
	last := delim[len(delim)-1]
	if len(delim) == 1 {
		return br.ReadString(last)
	}
	var sb strings.Builder
	for {
		part, err := br.ReadString(last)
		sb.WriteString(part)
		if err != nil || strings.HasSuffix(sb.String(), delim) {
			return sb.String(), err
		}
	}
}

// Inputs combines the sources into the arguments of each job as GNU
// parallel does: every combination of the sources, the last varying
// fastest; a linked source pairs its values with the source before it
// (the shorter wrapping around). colsep, if not nil, splits each value
// into columns. A single source is read lazily, so that jobs start before
// the input ends.
func Inputs(sources []Source, o InputOptions) iter.Seq2[[]string, error] {
	trim := o.Trim
	if trim == "" {
		trim = "n"
		if o.Colsep != nil {
			trim = "lr"
		}
	}
	trimmed := func(v string) string {
		if strings.Contains(trim, "l") {
			v = strings.TrimLeft(v, " \t\n\r\f\v")
		}
		if strings.Contains(trim, "r") {
			v = strings.TrimRight(v, " \t\n\r\f\v")
		}
		return v
	}
	split := func(v string) []string {
		if o.Colsep == nil {
			return []string{trimmed(v)}
		}
		cols := o.Colsep.Split(v, -1)
		for i := range cols {
			cols[i] = trimmed(cols[i])
		}
		return cols
	}
	return func(yield func([]string, error) bool) {
		if len(sources) == 1 {
			skip := sources[0].skip
			for v, err := range sources[0].values(o) {
				if err != nil {
					yield(nil, err)
					return
				}
				if skip > 0 {
					skip--
					continue
				}
				if !yield(split(v), nil) {
					return
				}
			}
			return
		}
		// groups of linked sources, each a list of rows of values
		var groups [][][]string
		for i, s := range sources {
			var vals []string
			for v, err := range s.values(o) {
				if err != nil {
					yield(nil, err)
					return
				}
				vals = append(vals, v)
			}
			vals = vals[min(s.skip, len(vals)):]
			if len(vals) == 0 {
				return // no combination
			}
			if i == 0 || !(s.linked || o.Link) {
				rows := make([][]string, len(vals))
				for k, v := range vals {
					rows[k] = split(v)
				}
				groups = append(groups, rows)
				continue
			}
			g := groups[len(groups)-1]
			n := max(len(g), len(vals))
			if !o.Link {
				n = min(len(g), len(vals)) // :::+ does not wrap
			}
			rows := make([][]string, n)
			for k := range n {
				rows[k] = append(append([]string(nil), g[k%len(g)]...), split(vals[k%len(vals)])...)
			}
			groups[len(groups)-1] = rows
		}
		idx := make([]int, len(groups))
		for {
			var args []string
			for gi, k := range idx {
				args = append(args, groups[gi][k]...)
			}
			if !yield(args, nil) {
				return
			}
			// next combination: the last group fastest
			gi := len(idx) - 1
			for ; gi >= 0; gi-- {
				idx[gi]++
				if idx[gi] < len(groups[gi]) {
					break
				}
				idx[gi] = 0
			}
			if gi < 0 {
				return
			}
		}
	}
}

// Count returns how many argument lists Inputs yields, when every source
// is given on the command line (ok false when a file or stdin is read).
func Count(sources []Source, o InputOptions) (n int, ok bool) {
	var groups []int
	for i, s := range sources {
		if s.path != "" || s.stdin != nil {
			return 0, false
		}
		k := len(s.vals)
		if i == 0 || !(s.linked || o.Link) {
			groups = append(groups, k)
		} else if o.Link {
			groups[len(groups)-1] = max(groups[len(groups)-1], k)
		} else {
			groups[len(groups)-1] = min(groups[len(groups)-1], k)
		}
		if k == 0 {
			return 0, true
		}
	}
	n = 1
	for _, g := range groups {
		n *= g
	}
	return n, true
}

// Path is the file a source reads (-a FILE, :::: FILE); "" for one
// that is not a file.
func (s Source) Path() string { return s.path }

// Headers reads --header's first value of each source: the names of its
// columns ({name} stands for {N}). It returns the names, one per
// argument of a job, and the sources without their header.
func Headers(sources []Source, o InputOptions) ([]string, []Source, error) {
	var names []string
	out := make([]Source, len(sources))
	for i, s := range sources {
		var head string
		switch {
		case s.path == "" && s.stdin == nil:
			if len(s.vals) > 0 {
				head, s.vals = s.vals[0], s.vals[1:]
			}
		case s.stdin != nil:
			// byte by byte: the rest of standard input stays unread
			delim := o.delimiter()
			var b []byte
			one := make([]byte, 1)
			for {
				n, err := s.stdin.Read(one)
				if n == 1 {
					b = append(b, one[0])
					if bytes.HasSuffix(b, []byte(delim)) {
						b = b[:len(b)-len(delim)]
						break
					}
				}
				if err != nil {
					break
				}
			}
			head = string(b)
		default:
			for v, err := range s.values(o) {
				if err != nil {
					return nil, nil, err
				}
				head = v
				break
			}
			s.skip = 1
		}
		if o.Colsep != nil {
			for _, c := range o.Colsep.Split(head, -1) {
				names = append(names, strings.TrimSpace(c))
			}
		} else {
			names = append(names, head)
		}
		out[i] = s
	}
	return names, out, nil
}

// NameColumns makes --header's column names in a template word
// positional, as GNU parallel does: {name} {name.} {name/} {name//}
// {name/.} become {N} {N.}..., and {=name perl=} becomes {=N perl=}.
func NameColumns(word string, names []string) string {
	for i, n := range names {
		if n == "" {
			continue
		}
		col := strconv.Itoa(i + 1)
		for _, mod := range []string{"", ".", "/", "//", "/."} {
			word = strings.ReplaceAll(word, "{"+n+mod+"}", "{"+col+mod+"}")
		}
		word = strings.ReplaceAll(word, "{="+n+"=}", "{="+col+"=}")
		word = strings.ReplaceAll(word, "{="+n+" ", "{="+col+" ")
	}
	return word
}
