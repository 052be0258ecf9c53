// Package jobs runs a command template over many inputs, as GNU parallel
// does: placeholders, input sources, output grouping, keep-order,
// timeouts, retries, halting, a job log and progress. It is the engine of
// the mp command (cmd/mp); the jobs run on an mp.Pool.
package jobs

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
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
}

// Template is a parsed command template.
type Template struct {
	line  string // the words joined by spaces, as GNU parallel does
	shell bool   // run with $SHELL -c: the line has shell syntax
	words []string
	// appendArgs: no placeholder in the line, so {} is added at its end
	appendArgs bool
}

// placeholder matches GNU parallel's replacement strings: {}, {.}, {/},
// {//}, {/.}, {#}, {%}, and {n} with the same modifiers; and mp's {key},
// {key.COL} (named values).
var placeholder = regexp.MustCompile(`\{(?:(\d*)(\.|/|//|/\.)?|(#|%)|(key(?:\.[^{}]+)?))\}`)

// shellSyntax are the characters that make a command line need a shell
// (and a value need quoting for one). An '=' needs one only in the first
// word (FOO=1 cmd), checked apart.
const shellSyntax = "|&;<>()$`\\\"'*?[]#~{}\n\t!"

// Parse reads a command template given as words (the words after the
// options, joined by spaces as GNU parallel joins them).
func Parse(words []string) (*Template, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("no command given")
	}
	t := &Template{line: strings.Join(words, " ")}
	t.appendArgs = !placeholder.MatchString(t.line)
	// Placeholders are not shell syntax: look at the line without them.
	bare := placeholder.ReplaceAllString(t.line, "x")
	t.shell = strings.ContainsAny(bare, shellSyntax)
	if !t.shell {
		t.words = strings.Fields(t.line)
		if len(t.words) == 0 {
			return nil, fmt.Errorf("empty command")
		}
		t.shell = strings.Contains(t.words[0], "=")
	}
	return t, nil
}

// Shell reports whether the template runs through $SHELL -c.
func (t *Template) Shell() bool { return t.shell }

// Command returns the command of job j: the argv to run directly, or (for
// a shell template) the line for $SHELL -c, its values shell-quoted.
func (t *Template) Command(j *Job, slot int) (argv []string, line string) {
	if t.shell {
		line = t.expand(t.line, j, slot, shellQuote)
		if t.appendArgs && len(j.Args) > 0 {
			line += " " + joinQuoted(j.Args, shellQuote)
		}
		return nil, line
	}
	for _, w := range t.words {
		argv = append(argv, t.expand(w, j, slot, nil))
	}
	if t.appendArgs {
		argv = append(argv, j.Args...)
	}
	return argv, ""
}

// Display is the command as a shell would read it, for --dry-run, the job
// log and --tag-less messages.
func (t *Template) Display(j *Job, slot int) string {
	argv, line := t.Command(j, slot)
	if argv == nil {
		return line
	}
	return joinQuoted(argv, shellQuote)
}

func (t *Template) expand(s string, j *Job, slot int, quote func(string) string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		var v string
		switch {
		case sub[3] == "#":
			return strconv.Itoa(j.Seq)
		case sub[3] == "%":
			return strconv.Itoa(slot)
		case sub[4] != "":
			v = j.Vars[sub[4]]
		case sub[1] == "":
			if sub[2] == "" {
				if quote != nil {
					return joinQuoted(j.Args, quote)
				}
				return strings.Join(j.Args, " ")
			}
			v = modify(strings.Join(j.Args, " "), sub[2])
		default:
			n, _ := strconv.Atoi(sub[1])
			if n >= 1 && n <= len(j.Args) {
				v = modify(j.Args[n-1], sub[2])
			}
		}
		if quote != nil {
			return quote(v)
		}
		return v
	})
}

// modify applies a replacement string's modifier as GNU parallel does:
// "." drops the extension, "/" keeps the base name, "//" the directory,
// "/." the base name without extension.
func modify(v, mod string) string {
	switch mod {
	case ".":
		return dropExt(v)
	case "/":
		return base(v)
	case "//":
		if i := strings.LastIndexByte(v, '/'); i >= 0 {
			if i == 0 {
				return "/"
			}
			return v[:i]
		}
		return "."
	case "/.":
		return dropExt(base(v))
	}
	return v
}

func base(v string) string {
	if i := strings.LastIndexByte(v, '/'); i >= 0 {
		return v[i+1:]
	}
	return v
}

// dropExt removes the extension of the last path element only:
// "dir.d/file" is kept, "a/b.tar.gz" becomes "a/b.tar".
func dropExt(v string) string {
	ext := path.Ext(base(v))
	if ext == "" || ext == base(v) {
		return v
	}
	return v[:len(v)-len(ext)]
}

func joinQuoted(args []string, quote func(string) string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote quotes s for a POSIX shell: 'it'\”s'.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if !strings.ContainsAny(s, shellSyntax+" =") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
