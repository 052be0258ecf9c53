package jobs

// This file runs GNU parallel's {= perl expression =} replacement strings
// and --rpl's in perl itself: one long-lived perl process per template,
// started only when the template has one, fed over a pipe.
//
// The protocol is length-prefixed both ways. A request is a count of
// fields on a line, then each field as its length on a line and its
// bytes: "C" code (compile) or "E" code seq slot total value args... The
// answer is one line "STATUS LEN" and LEN bytes: STATUS is a number
// whose bit 1 means uq() was called (the value is not to be quoted) and
// bit 2 that skip() was, or "E" with perl's error message.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/mp-go/mp/internal/proc"
)

// ErrNoPerl is returned when a template needs perl and there is none.
var ErrNoPerl = errors.New("perl is not installed: {= perl expression =} and --rpl run in perl (install it: apt-get install perl, apk add perl, dnf install perl)")

// perlProgram is the perl side: GNU parallel's helper functions for
// {= =} (Q, pQ, uq, hash, total_jobs, slot, seq, skip, @arg, $job and
// the time functions), and the loop serving requests. The expressions
// run in package Arg, as in GNU parallel.
const perlProgram = `
use POSIX ();
binmode STDIN; binmode STDOUT; $| = 1;
package main;
sub uniq { return keys %{{ map { $_ => 1 } @_ }} }
sub shell_quote { return wantarray ? map { Arg::Q($_) } @_ : join(" ", map { Arg::Q($_) } @_) }
sub dirname { require File::Basename; return File::Basename::dirname($_[0]) }
sub make_regexp_ungreedy {
  my ($re, $class, $esc, $found, $out) = (shift, 0, 0, 0, "");
  for my $c (split //, $re) {
    if ($found) { $out .= "?" if $c ne "?"; $found = 0 }
    $out .= $c;
    if ($esc) { $esc = 0; next }
    if ($c eq "\\") { $esc = 1; next }
    if ($c eq "[") { $class = 1; next }
    if ($class) { $class = 0 if $c eq "]"; next }
    $found = 1 if $c =~ /[*}+]/;
  }
  $out .= "?" if $found;
  return $out;
}
package MpJob;
sub seq { $_[0]{seq} } sub slot { $_[0]{slot} } sub skip { $_[0]{skip} = 1 }
sub total_jobs { $_[0]{total} }
package Arg;
no strict; no warnings;
our (@arg, $mp_job, $mp_uq, %mp_sub);
sub Q($) {
  local $_ = $_[0];
  if (/[^-_.+a-z0-9\/]/i) { s/'/'"'"'/g; $_ = "'$_'"; s/^''//; s/''$//; return $_ }
  return $_ eq "" ? "''" : $_;
}
sub pQ($) { my $a = $_[0]; $a =~ s/[\\\"\$\@]/\\$&/g; $a }
sub hash($) { require B; B::hash(@_) }
sub total_jobs() { $mp_job->{total} }
sub skip() { $mp_job->{skip} = 1 }
sub slot() { $mp_job->{slot} }
sub seq() { $mp_job->{seq} }
sub uq() { $mp_uq = 1 }
sub mp_t { POSIX::strftime($_[0], localtime(time())) }
sub yyyy_mm_dd_hh_mm_ss() { mp_t("%Y-%m-%dT%H:%M:%S") }
sub yyyy_mm_dd_hh_mm() { mp_t("%Y-%m-%dT%H:%M") }
sub yyyy_mm_dd() { mp_t("%Y-%m-%d") }
sub hh_mm_ss() { mp_t("%H:%M:%S") }
sub hh_mm() { mp_t("%H:%M") }
sub yyyymmddhhmmss() { mp_t("%Y%m%d%H%M%S") }
sub yyyymmddhhmm() { mp_t("%Y%m%d%H%M") }
sub yyyymmdd() { mp_t("%Y%m%d") }
sub hhmmss() { mp_t("%H%M%S") }
sub hhmm() { mp_t("%H%M") }
sub mp_read {
  my $n = <STDIN>; defined $n or exit 0; chomp $n;
  my $b = ""; while (length($b) < $n) { read(STDIN, $b, $n - length($b), length($b)) > 0 or exit 0 }
  return $b;
}
sub mp_answer { my ($s, $v) = @_; $v = "" unless defined $v; print STDOUT "$s " . length($v) . "\n" . $v }
sub mp_compile {
  my $code = shift;
  return $mp_sub{$code} if $mp_sub{$code};
  my $f = eval('sub { no strict; no warnings; my $job = shift; ' . $code . "\n}");
  if (!$f) { my $e = $@; $e =~ s/\s+$//; die "$e\n" }
  return $mp_sub{$code} = $f;
}
while (1) {
  my $n = <STDIN>; defined $n or exit 0; chomp $n;
  my @f = map { mp_read() } 1..$n;
  my $op = shift @f;
  my $code = shift @f;
  my $f = eval { mp_compile($code) };
  if (!$f) { my $e = $@; $e =~ s/\s+$//; mp_answer("E", $e); next }
  if ($op eq "C") { mp_answer(0, ""); next }
  my ($seq, $slot, $total, $val) = splice(@f, 0, 4);
  $mp_job = bless { seq => $seq, slot => $slot, total => $total, skip => 0 }, "MpJob";
  @arg = ("", @f);
  $mp_uq = 0;
  local $_ = $val;
  my $ok = eval { $f->($mp_job); 1 };
  if (!$ok) { my $e = $@; $e =~ s/\s+$//; mp_answer("E", $e); next }
  mp_answer(($mp_uq ? 1 : 0) | ($mp_job->{skip} ? 2 : 0), $_);
}
`

// perlEngine is the perl process of a template. It is started by the
// first call and ended by close; calls are serialized.
type perlEngine struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
	err error // the process failed: every later call fails with it
	buf []byte
}

// perlValue is one evaluation's result.
type perlValue struct {
	val     string
	unquote bool // uq() was called
	skip    bool // skip() was called
}

func (e *perlEngine) start() error {
	path, err := exec.LookPath("perl")
	if err != nil {
		return ErrNoPerl
	}
	cmd := exec.Command(path, "-e", perlProgram)
	proc.Configure(cmd) // its own process group, and it dies with us
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		in.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		in.Close()
		return fmt.Errorf("starting perl: %w", err)
	}
	e.cmd, e.in, e.out = cmd, in, bufio.NewReader(out)
	return nil
}

// call sends one request and reads its answer.
func (e *perlEngine) call(fields ...string) (perlValue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return perlValue{}, e.err
	}
	if e.cmd == nil {
		if err := e.start(); err != nil {
			e.err = err
			return perlValue{}, err
		}
	}
	b := strconv.AppendInt(e.buf[:0], int64(len(fields)), 10)
	b = append(b, '\n')
	for _, f := range fields {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, '\n')
		b = append(b, f...)
	}
	e.buf = b
	if _, err := e.in.Write(b); err != nil {
		e.err = fmt.Errorf("perl: %w", err)
		return perlValue{}, e.err
	}
	head, err := e.out.ReadString('\n')
	if err != nil {
		e.err = fmt.Errorf("perl ended: %w", err)
		return perlValue{}, e.err
	}
	status, size, _ := strings.Cut(strings.TrimSuffix(head, "\n"), " ")
	n, err := strconv.Atoi(size)
	if err != nil || n < 0 {
		e.err = fmt.Errorf("perl: bad answer %q", head)
		return perlValue{}, e.err
	}
	val := make([]byte, n)
	if _, err := io.ReadFull(e.out, val); err != nil {
		e.err = fmt.Errorf("perl ended: %w", err)
		return perlValue{}, e.err
	}
	if status == "E" {
		return perlValue{}, errors.New(string(val))
	}
	flags, _ := strconv.Atoi(status)
	return perlValue{val: string(val), unquote: flags&1 != 0, skip: flags&2 != 0}, nil
}

// compile checks that code is valid perl; src is the replacement
// string as written, for the error.
func (e *perlEngine) compile(code, src string) error {
	if _, err := e.call("C", code); err != nil {
		return fmt.Errorf("cannot use %s: %w", src, err)
	}
	return nil
}

// eval runs code with $_ set to val, for job j in slot.
func (e *perlEngine) eval(code, val string, j *Job, slot int) (perlValue, error) {
	fields := make([]string, 0, 6+len(j.Args))
	fields = append(fields, "E", code, strconv.Itoa(j.Seq), strconv.Itoa(slot), strconv.Itoa(j.Total), val)
	fields = append(fields, j.Args...)
	return e.call(fields...)
}

// close ends the perl process; safe to call twice.
func (e *perlEngine) close() {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd != nil {
		e.in.Close() // perl reads the end of its input and exits
		e.cmd.Wait()
		e.cmd = nil
	}
	if e.err == nil {
		e.err = errors.New("perl: the template was closed")
	}
}

// perlState is what evaluating a job's perl expressions found: skip()
// was called, or an expression failed. It is shared by the evaluations
// of one job.
type perlState struct {
	mu    sync.Mutex
	skip  bool
	err   error
	cache map[perlKey]perlValue
}

// perlKey is one evaluation of a job: GNU parallel evaluates an
// expression once per argument of a job however often its command is
// made (a retry, the job log), and so does mp.
type perlKey struct {
	code string
	arg  int // the argument's index, -1 for none
	val  string
	slot int // for an expression that uses the slot; else 0
}

func (j *Job) perlFlags() *perlState {
	if j.perl == nil {
		j.perl = &perlState{}
	}
	return j.perl
}

// PrepareJob evaluates the template's perl expressions for job j (those
// that do not use the job's slot), so that they run in job order, as GNU
// parallel runs them, however the jobs are then scheduled. It does nothing
// for a template without perl expressions.
func (t *Template) PrepareJob(j *Job) {
	if t.perl != nil {
		t.Display(j, 0)
	}
}

// Skipped reports whether a perl expression called skip() for the job
// (after its command was made).
func (j *Job) Skipped() bool {
	if j.perl == nil {
		return false
	}
	j.perl.mu.Lock()
	defer j.perl.mu.Unlock()
	return j.perl.skip
}

// EvalErr is the error of a perl expression of the job, nil if none
// failed (after its command was made).
func (j *Job) EvalErr() error {
	if j.perl == nil {
		return nil
	}
	j.perl.mu.Lock()
	defer j.perl.mu.Unlock()
	return j.perl.err
}

// perlValueOf is a perl placeholder's value for job j; quote says the
// value is to be shell-quoted (unless the expression called uq()). A
// positional expression ({=N perl =}) runs on the Nth argument; the
// others run on each argument, the values joined by spaces, as GNU
// parallel does. ok is false for a column the job does not have.
func (p *placeholder) perlValueOf(j *Job, slot int, quote bool) (string, bool) {
	st := j.perlFlags()
	one := func(i int, v string) string {
		key := perlKey{p.code, i, v, 0}
		if strings.Contains(p.code, "slot") {
			key.slot = slot // --resume makes a job's command for slot 0 first
		}
		st.mu.Lock()
		r, done := st.cache[key]
		st.mu.Unlock()
		var err error
		if !done {
			r, err = p.perl.eval(p.code, v, j, slot)
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if err == nil && !done {
			if st.cache == nil {
				st.cache = map[perlKey]perlValue{}
			}
			st.cache[key] = r
		}
		if err != nil {
			if st.err == nil {
				st.err = fmt.Errorf("{=%s=}: %w", p.code, err)
			}
			return ""
		}
		st.skip = st.skip || r.skip
		if quote && !r.unquote {
			return shellQuote(r.val)
		}
		return r.val
	}
	switch {
	case p.col > 0 && p.col <= len(j.Args):
		return one(p.col-1, j.Args[p.col-1]), true
	case p.col < 0 && -p.col <= len(j.Args):
		return one(len(j.Args)+p.col, j.Args[len(j.Args)+p.col]), true
	case p.col != 0:
		return "", false
	case len(j.Args) == 0:
		return one(-1, ""), true
	}
	vals := make([]string, len(j.Args))
	for i, a := range j.Args {
		vals[i] = one(i, a)
	}
	return strings.Join(vals, " "), true
}

// perlExpr reads "{=N code=}" (the text between the parentheses) as GNU
// parallel does: digits right after {= make it positional.
func perlExpr(inner string) (col int, code string) {
	digits := strings.TrimLeft(strings.TrimPrefix(inner, "-"), "0123456789")
	num := inner[:len(inner)-len(digits)]
	if n, err := strconv.Atoi(num); err == nil && n != 0 {
		return n, strings.TrimLeft(digits, " ")
	}
	return 0, inner
}

// rpl is one --rpl 'TAG perl expression': the tag as a regexp (GNU
// parallel's "(...)" groups in it become $$1, $$2... in the code) and,
// for a tag starting with {, its positional form {N...}.
type rpl struct {
	re, pos  *regexp.Regexp
	code     string
	tag      string
	fallback bool // --plus's: a built-in replacement string as long wins
}

// rplGroups splits a tag as GNU parallel does: a prefix, a group regexp
// "(...)" and a postfix.
var rplGroups = regexp.MustCompile(`^([^(]*)(\(.*\))?([^)]*)$`)

// parseRpl reads one --rpl value.
func parseRpl(s string) (rpl, error) {
	// the tag ends at the first white space, as GNU parallel's split/\s/
	tag, code := strings.TrimLeft(s, " \t\n"), ""
	if i := strings.IndexAny(tag, " \t\n"); i >= 0 {
		tag, code = tag[:i], tag[i+1:]
	}
	if tag == "" {
		return rpl{}, fmt.Errorf("--rpl %q: want 'TAG perl expression', such as --rpl '{odd} $_ = seq() %% 2 ? \"odd\" : \"even\"'", s)
	}
	m := rplGroups.FindStringSubmatch(tag)
	if m == nil {
		m = []string{tag, tag, "", ""}
	}
	r := rpl{code: code, tag: tag}
	var err error
	if r.re, err = regexp.Compile(`^` + regexp.QuoteMeta(m[1]) + m[2] + regexp.QuoteMeta(m[3])); err != nil {
		return rpl{}, fmt.Errorf("--rpl %q: the tag's group is not a regexp: %w", s, err)
	}
	if p, ok := strings.CutPrefix(m[1], "{"); ok {
		if r.pos, err = regexp.Compile(`^\{(-?\d+)\s*` + regexp.QuoteMeta(p) + m[2] + regexp.QuoteMeta(m[3])); err != nil {
			return rpl{}, fmt.Errorf("--rpl %q: %w", s, err)
		}
	}
	return r, nil
}

// dollarGroup is $$N in --rpl's code.
var dollarGroup = regexp.MustCompile(`\$\$(\d+)`)

// match is the --rpl at the start of s: its length, the column (for the
// positional form) and the code to run, with $$N set to the groups.
func (r *rpl) match(s string) (n, col int, code string) {
	var m []string
	if loc := r.re.FindStringSubmatchIndex(s); loc != nil {
		m = make([]string, len(loc)/2)
		for i := range m {
			if loc[2*i] >= 0 {
				m[i] = s[loc[2*i]:loc[2*i+1]]
			}
		}
	} else if r.pos != nil {
		if m = r.pos.FindStringSubmatch(s); m == nil {
			return 0, 0, ""
		}
		col, _ = strconv.Atoi(m[1])
		m = append(m[:1], m[2:]...)
	} else {
		return 0, 0, ""
	}
	var set strings.Builder
	for i, g := range m[1:] {
		fmt.Fprintf(&set, "$_pAr_gRp%d = \"%s\";", i+1, perlQuote(g))
	}
	return len(m[0]), col, set.String() + dollarGroup.ReplaceAllString(r.code, `$$_pAr_gRp$1`)
}

// perlQuote is GNU parallel's perl_quote_scalar.
func perlQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`\"$@`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
