package jobs

// This file holds the replacement strings: what each one means (classify,
// the --plus and renamed forms) and the value it gives for a job.

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// placeholder is one replacement string.
type placeholder struct {
	kind byte   // 'a' arguments, '#' seq, '%' slot, 'k' named value, 'T' total, 'p' perl
	col  int    // 'a': 0 = every argument, N = the Nth, -N = the Nth from the end
	mod  string // "", ".", "/", "//", "/.", and --plus's "+/" "+." ".." "+.." "..." "+..." "/.." "/..."
	key  string // 'k': the name
	// --plus string operations on the value
	// op: ':' substring, '-' default, '#' '%' drop the shortest
	// prefix or suffix, '/' replace the first match, '^' upper case
	// a match at the start; with 0x80 set: the longest prefix or
	// suffix, every match
	op     byte
	p1, p2 string
	re     *regexp.Regexp
	pad    bool // {0#}, {0%}: zero-padded to the width of the total
	// 'p': a {= perl expression =} or --rpl, run by the template's perl
	code string
	perl *perlEngine
}

// renamed is the replacement string that a --er, --bnr... string at the
// start of s stands for, and its length; nil if there is none (the
// longest wins).
func renamed(s string, o ParseOptions) (*placeholder, int) {
	var best *placeholder
	n := 0
	for from, to := range o.Rename {
		if len(from) > n && strings.HasPrefix(s, from) {
			if ph := classify(strings.TrimSuffix(strings.TrimPrefix(to, "{"), "}"), ParseOptions{}); ph != nil {
				best, n = ph, len(from)
			}
		}
	}
	return best, n
}

var mods = []string{"", ".", "/", "//", "/."}
var plusMods = []string{"+/", "+.", "..", "+..", "...", "+...", "/..", "/..."}

// classify reads the inside of {...}; nil if it is not a replacement
// string (then it is literal text, as in GNU parallel).
func classify(c string, o ParseOptions) *placeholder {
	switch c {
	case "#":
		return &placeholder{kind: '#'}
	case "%":
		return &placeholder{kind: '%'}
	}
	if c == "key" || strings.HasPrefix(c, "key.") {
		return &placeholder{kind: 'k', key: c}
	}
	if o.Plus && (c == "0#" || c == "0%") {
		return &placeholder{kind: c[1], pad: true}
	}
	// {N}, {-N}, with a modifier
	digits := strings.TrimLeft(strings.TrimPrefix(c, "-"), "0123456789")
	num := c[:len(c)-len(digits)]
	col := 0
	if num != "" {
		n, err := strconv.Atoi(num)
		if err != nil || n == 0 {
			return nil
		}
		col = n
	}
	if o.Replace != "" && num == "" && digits == "" {
		return nil // -I renames {}: it is text ({.} and the others stay, as in GNU parallel)
	}
	if slices.Contains(mods, digits) || (o.Plus && slices.Contains(plusMods, digits)) {
		return &placeholder{kind: 'a', col: col, mod: digits}
	}
	if !o.Plus || num != "" {
		return nil
	}
	switch {
	case c == "##":
		return &placeholder{kind: 'T'}
	case c == "slot":
		return &placeholder{kind: '%'}
	case strings.HasPrefix(c, ":-") && len(c) > 2:
		return &placeholder{kind: 'a', op: '-', p1: c[2:]}
	case strings.HasPrefix(c, ":"):
		parts := strings.Split(c[1:], ":")
		for _, p := range parts {
			if _, err := strconv.Atoi(p); err != nil {
				return nil
			}
		}
		if len(parts) > 2 {
			return nil
		}
		ph := &placeholder{kind: 'a', op: ':', p1: parts[0]}
		if len(parts) == 2 {
			ph.p2 = parts[1]
		}
		return ph
	case len(c) > 1 && strings.ContainsRune("#%^", rune(c[0])):
		// {#re} {##re} {%re} {%%re} {^re} {^^re}: Perl
		// regexps, as GNU parallel's; one sign is the shortest match
		// ({#} {%}) or a match at the start ({^} {,}), two the longest
		// or every match
		op, re := c[0], c[1:]
		if re[0] == op {
			op, re = op|0x80, re[1:]
		}
		if re == "" {
			return nil
		}
		if op == '#' || op == '%' {
			re = ungreedy(re)
		}
		pat := map[byte]string{'#': "^(?:" + re + ")", '#' | 0x80: "^(?:" + re + ")",
			'%': "^(.*)(?:" + re + ")$", '%' | 0x80: "(?:" + re + ")$", '^': "^(?:" + re + ")"}[op]
		if pat == "" {
			pat = re
		}
		rx, err := regexp.Compile(pat)
		if err != nil {
			return nil
		}
		return &placeholder{kind: 'a', op: op, re: rx}
	case strings.HasPrefix(c, "/") && len(c) > 1:
		op := byte('/')
		body := c[1:]
		if body[0] == '/' {
			op, body = '/'|0x80, body[1:]
		}
		re, repl, ok := strings.Cut(body, "/")
		if !ok || re == "" || strings.Contains(repl, "/") || (op == '/' && strings.ContainsAny(re[:1], "#%")) {
			// {/#re/new} and {/%re/new} anchor re: perl makes them
			return nil
		}
		rx, err := regexp.Compile(re)
		if err != nil {
			return nil
		}
		return &placeholder{kind: 'a', op: op, re: rx, p2: repl}
	}
	return nil
}

// ungreedy makes a Perl regexp's quantifiers lazy, as GNU parallel's
// make_regexp_ungreedy does for {#re} and {%re}.
func ungreedy(re string) string {
	var b strings.Builder
	for i := 0; i < len(re); i++ {
		b.WriteByte(re[i])
		switch re[i] {
		case '\\':
			if i+1 < len(re) {
				i++
				b.WriteByte(re[i])
			}
		case '*', '+', '?', '}':
			if i+1 >= len(re) || re[i+1] != '?' {
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}

// value is the placeholder's text for job j; ok is false for a column
// the job does not have.
func (p *placeholder) value(j *Job, slot int) (string, bool) {
	switch p.kind {
	case '#':
		return pad(j.Seq, j.Total, p.pad), true
	case '%':
		return pad(slot, 0, false), true
	case 'T':
		return strconv.Itoa(j.Total), true
	case 'k':
		v, ok := j.Vars[p.key]
		return v, ok
	case 'p':
		return p.perlValueOf(j, slot, false)
	}
	var v string
	switch {
	case p.col == 0 && len(j.Args) > 1:
		// each argument's value, as GNU parallel gives {.} for -m
		return strings.Join(p.each(j.Args), " "), true
	case p.col == 0:
		v = strings.Join(j.Args, " ")
	case p.col > 0 && p.col <= len(j.Args):
		v = j.Args[p.col-1]
	case p.col < 0 && -p.col <= len(j.Args):
		v = j.Args[len(j.Args)+p.col]
	default:
		return "", false
	}
	return p.apply(modify(v, p.mod)), true
}

// each is the placeholder's value for each argument.
func (p *placeholder) each(args []string) []string {
	vals := make([]string, len(args))
	for i, a := range args {
		vals[i] = p.apply(modify(a, p.mod))
	}
	return vals
}

func pad(n, total int, zero bool) string {
	s := strconv.Itoa(n)
	if zero {
		if w := len(strconv.Itoa(total)); len(s) < w {
			s = strings.Repeat("0", w-len(s)) + s
		}
	}
	return s
}

// apply does --plus's string operations.
func (p *placeholder) apply(v string) string {
	switch p.op {
	case ':':
		start, _ := strconv.Atoi(p.p1)
		start = min(max(start, 0), len(v))
		if p.p2 == "" {
			return v[start:]
		}
		n, _ := strconv.Atoi(p.p2)
		return v[start:min(start+max(n, 0), len(v))]
	case '-':
		if v == "" {
			return p.p1
		}
	case '#', '#' | 0x80, '%' | 0x80:
		if loc := p.re.FindStringIndex(v); loc != nil {
			return v[:loc[0]] + v[loc[1]:]
		}
	case '%':
		if m := p.re.FindStringSubmatch(v); m != nil {
			return m[1]
		}
	case '/', '^':
		if loc := p.re.FindStringIndex(v); loc != nil {
			return v[:loc[0]] + p.edit(v[loc[0]:loc[1]]) + v[loc[1]:]
		}
	case '/' | 0x80, '^' | 0x80:
		return p.re.ReplaceAllStringFunc(v, p.edit)
	}
	return v
}

// edit is what a match of {/re/new} or {^re} becomes.
func (p *placeholder) edit(m string) string {
	if p.op&^0x80 == '^' {
		return strings.ToUpper(m)
	}
	return p.re.ReplaceAllString(m, p.p2)
}

// modify applies a replacement string's modifier as GNU parallel does:
// "." drops the extension, "/" keeps the base name, "//" the directory,
// "/." the base name without extension; --plus adds "+/" (the directory),
// "+." (the extension), ".." and "..." (two or three extensions dropped),
// "+.." and "+..." (those extensions), "/.." and "/...".
func modify(v, mod string) string {
	switch mod {
	case ".":
		return dropExt(v)
	case "/":
		return base(v)
	case "//", "+/":
		return dirname(v)
	case "/.":
		return dropExt(base(v))
	case "+.":
		return strings.TrimPrefix(v[len(dropExt(v)):], ".")
	case "..":
		return dropExts(v, 2)
	case "...":
		return dropExts(v, 3)
	case "+..":
		return strings.TrimPrefix(v[len(dropExts(v, 2)):], ".")
	case "+...":
		return strings.TrimPrefix(v[len(dropExts(v, 3)):], ".")
	case "/..":
		return dropExts(base(v), 2)
	case "/...":
		return dropExts(base(v), 3)
	}
	return v
}

// dropExts removes n extensions of the last path element at once, as
// GNU parallel's {..} and {...} do; a value with fewer is kept whole.
func dropExts(v string, n int) string {
	b := base(v)
	i := len(b)
	for range n {
		i = strings.LastIndexByte(b[:i], '.')
		if i < 0 {
			return v
		}
	}
	return v[:len(v)-len(b)+i]
}

func base(v string) string {
	if i := strings.LastIndexByte(v, '/'); i >= 0 {
		return v[i+1:]
	}
	return v
}

// dirname is Perl's File::Basename dirname, which GNU parallel's {//}
// is: "a/" and "a" give ".", "/a" gives "/".
func dirname(v string) string {
	t := strings.TrimRight(v, "/")
	if t == "" {
		if v == "" {
			return "."
		}
		return "/"
	}
	i := strings.LastIndexByte(t, '/')
	if i < 0 {
		return "."
	}
	if d := strings.TrimRight(t[:i], "/"); d != "" {
		return d
	}
	return "/"
}

// dropExt removes the extension of the last path element only, as GNU
// parallel's s:\.[^/.]*$:: does: "dir.d/file" is kept, "a/b.tar.gz"
// becomes "a/b.tar", ".a" becomes "".
func dropExt(v string) string {
	b := base(v)
	i := strings.LastIndexByte(b, '.')
	if i < 0 {
		return v
	}
	return v[:len(v)-len(b)+i]
}
