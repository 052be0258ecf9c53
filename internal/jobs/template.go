// Package jobs runs a command template over many inputs, as GNU parallel
// does: placeholders, input sources, output grouping, keep-order,
// timeouts, retries, halting, a job log and progress. It is the engine of
// the mp command (cmd/mp); the jobs run on an mp.Pool.
package jobs

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Job is one run of the template: its sequence number (1, 2, ...), its
// arguments ({1}, {2}, ...; {} is all of them), named values ({key},
// {key.COL} for mp groupby) and, for groupby, the file its standard input
// comes from.
type Job struct {
	Seq   int
	Args  []string
	Vars  map[string]string
	Stdin string // a file to read standard input from; "" for none
	// RemoveStdin removes the Stdin file once the job has ended.
	RemoveStdin bool
	// Total is the number of jobs, for {##}; 0 if unknown.
	Total int
	// Data is the job's standard input (--pipe); Part a section of a
	// file for it (--pipepart).
	Data []byte
	Part *Part
	// Input, if set, is the job's standard input (--round-robin: the read
	// end of a pipe); the runner closes it when the job has ended or was
	// skipped.
	Input *os.File
	// Release, if set, is called once the job has ended (or was
	// skipped): --pipe bounds the blocks held with it.
	Release func()
	// DataShared, set by the runner before Release, says that Data was
	// passed to the job by reference (vmsplice) and that a process the
	// job left running may still read it: its memory must not serve
	// another block.
	DataShared bool

	perl *perlState // what its perl expressions found (skip(), errors)
}

// ParseOptions change how a template is read.
type ParseOptions struct {
	// Replace is -I: the string that stands for {} instead of "{}".
	Replace string
	// Rename gives other strings for replacement strings, as GNU
	// parallel's --er, --bnr, --dnr, --bner, --seqreplace and
	// --slotreplace do: "FOO" -> "{/}" makes FOO mean {/}.
	Rename map[string]string
	// Plus is --plus: the replacement strings {+/} {+.} {..} {##} {:N}
	// {#pre} {%suf} {/re/new}... as GNU parallel's --plus defines them.
	Plus bool
	// Quote is -q: the command's words are passed as they are, each
	// quoted, instead of being joined and read by a shell.
	Quote bool
	// Rpl are --rpl's 'TAG perl expression': TAG is replaced by the
	// value of the perl expression, as in GNU parallel (groups "(...)"
	// in TAG are $$1, $$2... in the expression; a TAG starting with {
	// has a positional form {NTAG}).
	Rpl []string
	// Parens is --parens: the left and right parentheses of a perl
	// expression, "{==}" if empty.
	Parens string

	rpls []rpl
}

// Template is a parsed command template.
type Template struct {
	line  []segment   // the words joined by spaces, as GNU parallel does
	words [][]segment // for direct execution
	shell bool        // run with $SHELL -c: the line has shell syntax
	bash  bool        // the command is an exported bash function
	// appendArgs: no placeholder in the line, so {} is added at its end
	appendArgs bool
	context    bool        // -X: a word with {} is repeated for each argument
	perl       *perlEngine // runs the perl expressions; nil if none
}

// Close ends the perl process that runs the template's perl expressions,
// if there is one. Safe to call twice; a closed template cannot run perl
// expressions any more.
func (t *Template) Close() {
	if t != nil {
		t.perl.close()
	}
}

// Perl reports whether the template has perl expressions ({= =}, --rpl).
func (t *Template) Perl() bool { return t.perl != nil }

// NeedsTotal reports whether the template uses the number of jobs ({##},
// total_jobs() in a perl expression): the input is then read whole
// before the first job starts, as GNU parallel does.
func (t *Template) NeedsTotal() bool {
	return slices.ContainsFunc(t.line, func(s segment) bool {
		return s.ph != nil && (s.ph.kind == 'T' || s.ph.pad && s.ph.kind == '#' ||
			s.ph.kind == 'p' && (strings.Contains(s.ph.code, "total_jobs") || strings.Contains(s.ph.code, "{##}")))
	})
}

// SetContext is -X: a word with {} in it is repeated for each of the
// job's arguments (pre{}post gives preapost prebpost).
func (t *Template) SetContext(on bool) { t.context = on }

// contextLine is the line for -X: words without {} as they are, the
// others once per argument.
func (t *Template) contextLine(j *Job, slot int) string {
	var words []string
	for _, w := range splitWords(t.line) {
		if !slices.ContainsFunc(w, func(s segment) bool { return s.ph != nil && (s.ph.kind == 'a' || s.ph.kind == 'p') && s.ph.col == 0 }) {
			words = append(words, (&Template{line: w}).Display(j, slot))
			continue
		}
		one := &Template{line: w}
		for _, a := range j.Args {
			words = append(words, one.Display(&Job{Seq: j.Seq, Args: []string{a}, Vars: j.Vars, Total: j.Total, perl: j.perlFlags()}, slot))
		}
	}
	return strings.Join(words, " ")
}

// segment is literal text or a replacement string.
type segment struct {
	lit string
	ph  *placeholder
	src string // the replacement string as written
	raw bool   // the value goes in unquoted (a replacement string in the command's name)
}

// shellBuiltins are the words that must run in a shell to mean what they
// mean: builtins without a program of the same name, and keywords.
var shellBuiltins = []string{
	".", ":", "alias", "bg", "break", "builtin", "case", "cd", "command", "continue", "declare",
	"eval", "exec", "exit", "export", "fg", "for", "function", "getopts", "hash", "if", "jobs", "let",
	"local", "read", "readonly", "return", "select", "set", "shift", "source", "time", "trap", "type",
	"typeset", "ulimit", "umask", "unalias", "unset", "until", "wait", "while", "{", "!", "[[",
}

// shellSyntax are the characters that make a command line need a shell.
// An '=' needs one only in the first word (FOO=1 cmd), checked apart.
const shellSyntax = "|&;<>()$`\\\"'*?[]#~{}\n\t!"

// Parse reads a command template given as words (the words after the
// options, joined by spaces as GNU parallel joins them). No words is
// GNU parallel's no-command mode: each input is a command line.
func Parse(words []string, opts ...ParseOptions) (*Template, error) {
	var o ParseOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	if len(words) == 0 {
		words = []string{"{}"}
		if o.Replace != "" {
			words = []string{o.Replace}
		}
	}
	for _, r := range o.Rpl {
		p, err := parseRpl(r)
		if err != nil {
			return nil, err
		}
		o.rpls = append(o.rpls, p)
	}
	if o.Plus {
		for _, r := range plusRpls {
			p, err := parseRpl(r)
			if err != nil {
				panic("jobs: --plus replacement string " + r + ": " + err.Error())
			}
			p.fallback = true
			o.rpls = append(o.rpls, p)
		}
	}
	// the longest tags first, as GNU parallel tries them: {%%re} before
	// {%re}
	slices.SortStableFunc(o.rpls, func(a, b rpl) int { return len(b.tag) - len(a.tag) })
	if o.Parens != "" && (len(o.Parens) < 2 || len(o.Parens)%2 != 0) {
		return nil, fmt.Errorf("--parens %q: want the left and the right parenthesis of a perl expression, of the same length, such as {==} or ,,,,", o.Parens)
	}
	if o.Quote {
		// -q: each word is one argument, its text quoted; its
		// replacement strings stay replacement strings
		q := make([]string, len(words))
		for i, w := range words {
			for _, s := range scan(w, o) {
				if s.ph != nil {
					q[i] += s.src
				} else {
					q[i] += shellQuote(s.lit)
				}
			}
		}
		words = q
	}
	line := strings.Join(words, " ")
	if strings.TrimSpace(line) == "" {
		return nil, fmt.Errorf("empty command")
	}
	t := &Template{line: scan(line, o)}
	if err := t.startPerl(); err != nil {
		return nil, err
	}
	t.appendArgs = !slices.ContainsFunc(t.line, func(s segment) bool { return s.ph != nil })
	// A replacement string in the command's name goes in unquoted, as
	// GNU parallel does ({} alone runs each input as a command line).
	rawName, started := false, false
	for i := range t.line {
		s := &t.line[i]
		if s.ph != nil {
			s.raw, rawName, started = true, true, true
			continue
		}
		lit := s.lit
		if !started {
			lit = strings.TrimLeft(lit, " \t\n")
		}
		if lit == "" {
			continue
		}
		started = true
		if strings.ContainsAny(lit, " \t\n") {
			break
		}
	}
	var bare strings.Builder // the line without its replacement strings
	for _, s := range t.line {
		if s.ph != nil {
			bare.WriteByte('x')
		} else {
			bare.WriteString(s.lit)
		}
	}
	// A perl expression's value may be unquoted (uq()): a shell reads it.
	t.shell = rawName || t.perl != nil || strings.ContainsAny(bare.String(), shellSyntax)
	if !t.shell {
		fields := strings.Fields(bare.String())
		name := fields[0]
		switch {
		case strings.Contains(name, "="), slices.Contains(shellBuiltins, name):
			t.shell = true
		case os.Getenv("BASH_FUNC_"+name+"%%") != "":
			t.shell, t.bash = true, true // export -f name
		}
	}
	if !t.shell {
		t.words = splitWords(t.line)
	}
	return t, nil
}

// scan splits a line into literal text and replacement strings.
func scan(line string, o ParseOptions) []segment {
	var segs []segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{lit: lit.String()})
			lit.Reset()
		}
	}
	left, right := "{=", "=}"
	if o.Parens != "" {
		left, right = o.Parens[:len(o.Parens)/2], o.Parens[len(o.Parens)/2:]
	}
	for i := 0; i < len(line); {
		if strings.HasPrefix(line[i:], left) {
			// {= perl =}: the innermost, as GNU parallel matches it
			rest := line[i+len(left):]
			if end := strings.Index(rest, right); end >= 0 && !strings.Contains(rest[:end], left) {
				col, code := perlExpr(rest[:end])
				flush()
				n := len(left) + end + len(right)
				segs = append(segs, segment{ph: &placeholder{kind: 'p', col: col, code: code}, src: line[i : i+n]})
				i += n
				continue
			}
		}
		if n, col, code := longestRpl(line[i:], o); n > 0 {
			flush()
			segs = append(segs, segment{ph: &placeholder{kind: 'p', col: col, code: code}, src: line[i : i+n]})
			i += n
			continue
		}
		if o.Replace != "" && strings.HasPrefix(line[i:], o.Replace) {
			flush()
			segs = append(segs, segment{ph: &placeholder{kind: 'a'}, src: o.Replace})
			i += len(o.Replace)
			continue
		}
		if ph, n := renamed(line[i:], o); ph != nil {
			flush()
			segs = append(segs, segment{ph: ph, src: line[i : i+n]})
			i += n
			continue
		}
		if line[i] == '{' {
			if end := strings.IndexByte(line[i+1:], '}'); end >= 0 {
				if ph := classify(line[i+1:i+1+end], o); ph != nil {
					flush()
					segs = append(segs, segment{ph: ph, src: line[i : i+end+2]})
					i += end + 2
					continue
				}
			}
		}
		lit.WriteByte(line[i])
		i++
	}
	flush()
	return segs
}

// splitWords splits a line without shell syntax at its spaces.
func splitWords(line []segment) [][]segment {
	var words [][]segment
	var cur []segment
	for _, s := range line {
		if s.ph != nil {
			cur = append(cur, s)
			continue
		}
		lit := s.lit
		for lit != "" {
			i := strings.IndexAny(lit, " \t\n")
			if i < 0 {
				cur = append(cur, segment{lit: lit})
				break
			}
			if i > 0 {
				cur = append(cur, segment{lit: lit[:i]})
			}
			if len(cur) > 0 {
				words = append(words, cur)
				cur = nil
			}
			lit = lit[i+1:]
		}
	}
	if len(cur) > 0 {
		words = append(words, cur)
	}
	return words
}

// Shell reports whether the template runs through $SHELL -c.
func (t *Template) Shell() bool { return t.shell }

// Bash reports whether the command is a bash function exported with
// export -f: it needs bash, whatever $SHELL is.
func (t *Template) Bash() bool { return t.bash }

// Command returns the command of job j: the argv to run directly, or (for
// a shell template) the line for $SHELL -c, its values shell-quoted.
func (t *Template) Command(j *Job, slot int) (argv []string, line string) {
	if t.shell || t.context {
		return nil, t.Display(j, slot)
	}
	var b strings.Builder
words:
	for _, w := range t.words {
		b.Reset()
		missing := false
		for _, s := range w {
			if s.ph == nil {
				b.WriteString(s.lit)
				continue
			}
			v, ok := s.ph.value(j, slot)
			missing = missing || !ok
			if s.ph.kind == 'a' && s.ph.col == 0 && s.ph.mod == "" && s.ph.op == 0 && len(w) == 1 {
				argv = append(argv, j.Args...) // {} alone: one word per argument
				continue words
			}
			b.WriteString(v)
		}
		if b.Len() == 0 && missing {
			continue // a missing column gives no word, as in GNU parallel
		}
		argv = append(argv, b.String())
	}
	if t.appendArgs {
		argv = append(argv, j.Args...)
	}
	return argv, ""
}

// Display is the command as a shell reads it: the line run by $SHELL -c,
// and what --dry-run, the job log and --resume show.
func (t *Template) Display(j *Job, slot int) string {
	if t.context && !t.appendArgs {
		return t.contextLine(j, slot)
	}
	var b strings.Builder
	for _, s := range t.line {
		if s.ph == nil {
			b.WriteString(s.lit)
			continue
		}
		if s.raw {
			v, _ := s.ph.value(j, slot)
			b.WriteString(v)
			continue
		}
		if s.ph.kind == 'a' && s.ph.col == 0 && s.ph.mod == "" && s.ph.op == 0 {
			b.WriteString(joinQuoted(j.Args, shellQuote))
			continue
		}
		if s.ph.kind == 'a' && s.ph.col == 0 && len(j.Args) > 1 {
			b.WriteString(joinQuoted(s.ph.each(j.Args), shellQuote)) // -m's {.}: each value quoted
			continue
		}
		if s.ph.kind == 'p' {
			v, _ := s.ph.perlValueOf(j, slot, true)
			b.WriteString(v)
			continue
		}
		v, ok := s.ph.value(j, slot)
		if ok {
			v = shellQuote(v)
		}
		b.WriteString(v)
	}
	if t.appendArgs && len(j.Args) > 0 {
		b.WriteByte(' ')
		b.WriteString(joinQuoted(j.Args, shellQuote))
	}
	return b.String()
}

func joinQuoted(args []string, quote func(string) string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote quotes s for a POSIX shell as GNU parallel does: words of
// letters, digits and _+./- as they are, others in single quotes, a
// single quote as "'".
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_+./-", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	q := "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
	q = strings.TrimPrefix(q, "''")
	return strings.TrimSuffix(q, "''")
}

// Text is the template's text for job j with the values as they are, not
// quoted (--tagstring, --results' path).
func (t *Template) Text(j *Job, slot int) string {
	var b strings.Builder
	for _, s := range t.line {
		if s.ph == nil {
			b.WriteString(s.lit)
			continue
		}
		v, _ := s.ph.value(j, slot)
		b.WriteString(v)
	}
	return b.String()
}

// plusRpls are --plus's replacement strings as GNU parallel defines them
// in perl. mp makes most of them in Go (see classify), faster; these run
// in perl when Go has no equivalent: {choose_k}, {uniq}, {,re} {,,re},
// {/#re/new}, {/%re/new}, the positional forms ({2:-x}, {-1%.gz}...) and
// Perl regexps Go's regexp package does not know.
var plusRpls = []string{
	`{choose_k} for $t (2..$#arg){ if($arg[$t-1] ge $arg[$t]) { skip() } }`,
	`{uniq} if(::uniq(@arg) != @arg) { skip(); }`,
	`{:-([^}]+?)} $_ ||= $$1`,
	`{:(\d+?)} substr($_,0,$$1) = ""`,
	`{:(\d+?):(\d+?)} $_ = substr($_,$$1,$$2);`,
	`{#([^#}][^}]*?)} $nongreedy=::make_regexp_ungreedy($$1);s/^$nongreedy(.*)/$1/;`,
	`{##([^#}][^}]*?)} s/^$$1//;`,
	`{%([^}]+?)} $nongreedy=::make_regexp_ungreedy($$1);s/(.*)$nongreedy$/$1/;`,
	`{%%([^}]+?)} s/$$1$//;`,
	`{/([^#%}/]+?)/([^}]*?)} s/$$1/$$2/;`,
	`{/#([^}]+?)/([^}]*?)} s/^$$1/$$2/g;`,
	`{/%([^}]+?)/([^}]*?)} s/$$1$/$$2/g;`,
	`{//([^}]+?)/([^}]*?)} s/$$1/$$2/g;`,
	`{^([^}]+?)} s/^($$1)/uc($1)/e;`,
	`{^^([^}]+?)} s/($$1)/uc($1)/eg;`,
	`{,([^}]+?)} s/^($$1)/lc($1)/e;`,
	`{,,([^}]+?)} s/($$1)/lc($1)/eg;`,
}

// longestRpl is the --rpl at the start of s, if it is longer than a
// built-in replacement string there (GNU parallel replaces the longest
// first): its length, column and code; n is 0 if there is none.
func longestRpl(s string, o ParseOptions) (n, col int, code string) {
	fallback := false
	for i := range o.rpls {
		if k, c, p := o.rpls[i].match(s); k > n {
			n, col, code, fallback = k, c, p, o.rpls[i].fallback
		}
	}
	if n > 0 && s[0] == '{' {
		// a built-in string as long wins over --plus's perl ones, a
		// user's --rpl wins over it
		if end := strings.IndexByte(s[1:], '}'); end >= 0 && (end+2 > n || fallback && end+2 == n) && classify(s[1:1+end], o) != nil {
			return 0, 0, ""
		}
	}
	return n, col, code
}

// startPerl gives the template's perl expressions their perl process,
// checking each compiles; a template without any has none.
func (t *Template) startPerl() error {
	seen := map[string]bool{}
	for _, s := range t.line {
		if s.ph == nil || s.ph.kind != 'p' {
			continue
		}
		if t.perl == nil {
			t.perl = &perlEngine{}
		}
		s.ph.perl = t.perl
		if !seen[s.ph.code] {
			seen[s.ph.code] = true
			if err := t.perl.compile(s.ph.code, s.src); err != nil {
				t.perl.close()
				if errors.Is(err, ErrNoPerl) {
					return ErrNoPerl
				}
				return err
			}
		}
	}
	return nil
}
