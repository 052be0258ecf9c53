//go:build unix

package jobs

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func needPerl(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("perl is not installed")
	}
}

// {= perl =} and --rpl, against GNU parallel 20221122's --dry-run output
// for the same command lines.
func TestPerlExpressions(t *testing.T) {
	needPerl(t)
	tests := []struct {
		words []string
		o     ParseOptions
		args  []string
		want  string
	}{
		{[]string{"echo {} + 1 is {= $_++ =}"}, ParseOptions{}, []string{"9"}, "echo 9 + 1 is 10"},
		{[]string{"echo {= s/a/X/ =}"}, ParseOptions{}, []string{"a1", "a2"}, "echo X1 X2"},                // each argument
		{[]string{"echo {=2 s/a/X/ =} {=-1 $_=uc =}"}, ParseOptions{}, []string{"a1", "a2"}, "echo X2 A2"}, // positional
		{[]string{"echo {=3 s/a/X/ =}."}, ParseOptions{}, []string{"a1"}, "echo ."},                        // a missing column: nothing
		{[]string{`echo {= $_="a b" =} {= $_="a b";uq() =}`}, ParseOptions{}, []string{"1"}, "echo 'a b' a b"},
		{[]string{`csh -c {= $_="mkdir ".Q($_) =}`}, ParseOptions{}, []string{`12" dir`}, `csh -c 'mkdir '"'"'12" dir'"'"`},
		{[]string{`echo {= $_=$arg[1] =} {= $_="@arg" =}`}, ParseOptions{}, []string{"a", "b"}, `echo a a ' a b' ' a b'`},
		{[]string{"echo job {#} of {= $_=total_jobs() =} slot {= $_=slot() =} {= $_=$job->seq() =}"}, ParseOptions{}, []string{"x"}, "echo job 7 of 12 slot 2 7"},
		{[]string{"echo {= $_=pQ($_) =}"}, ParseOptions{}, []string{`$a"`}, `echo '\$a\"'`},
		{[]string{"echo {odd} {1odd}"}, ParseOptions{Rpl: []string{`{odd} $_ = seq() % 2 ? "odd" : "even"`}}, []string{"a"}, "echo odd odd"},
		{[]string{"echo {%.tar.gz}"}, ParseOptions{Rpl: []string{`{%(.*?)} s/$$1//`}}, []string{"my.tar.gz"}, "echo my"},
		{[]string{"echo {/replacethis/withthis} {/b/C}"}, ParseOptions{Rpl: []string{`{/(.+?)/(.*?)} s/$$1/$$2/;`}}, []string{"a_replacethis_b"}, "echo a_withthis_b a_replacethis_C"},
		{[]string{"echo {swap/these}"}, ParseOptions{Rpl: []string{`{(.*?)/(.*?)} $_="$$2$_$$1"`}}, []string{"-middle-"}, "echo these-middle-swap"},
		{[]string{"echo {:%_file}"}, ParseOptions{Rpl: []string{`{:%(.+?)} s:$$1(\.[^/]+)*$::`}}, []string{"my_file.tar.gz"}, "echo my"},
		{[]string{"echo {..} {} {.}"}, ParseOptions{Rpl: []string{`{..} s:\.[^.]+$::;s:\.[^.]+$::;`}}, []string{"a.b.c"}, "echo a a.b.c a.b"},
		{[]string{"echo ,,s/I/O/g,,"}, ParseOptions{Parens: ",,,,"}, []string{"FII"}, "echo FOO"},
		{[]string{"echo", "{=1 $_=uc =}"}, ParseOptions{Quote: true}, []string{"a b"}, "echo 'A B'"},
		{[]string{"echo {2:-d} {-3:1:2} {3#z.*z.} {-1%%.z*}"}, ParseOptions{Plus: true}, []string{"xyz", "", "z.z.foo.zz"}, "echo d yz foo.zz z.z.foo"},
		{[]string{"echo {,A} {,,A} {/#a/X} {/%c/Y}"}, ParseOptions{Plus: true}, []string{"AbcAaAc"}, "echo abcAaAc abcaaac AbcAaAc AbcAaAY"},
		{[]string{"{= $_ = \"echo \" . $_; uq() =}"}, ParseOptions{}, []string{"x"}, "echo x"},
	}
	for _, tt := range tests {
		tm, err := Parse(tt.words, tt.o)
		if err != nil {
			t.Fatalf("%q: %v", tt.words, err)
		}
		if !tm.Perl() || !tm.Shell() {
			t.Errorf("%q: Perl() %v, Shell() %v; want both", tt.words, tm.Perl(), tm.Shell())
		}
		j := &Job{Seq: 7, Total: 12, Args: tt.args}
		if got := tm.Display(j, 2); got != tt.want {
			t.Errorf("%q %+v: %q, want %q", tt.words, tt.o, got, tt.want)
		}
		if j.Skipped() || j.EvalErr() != nil {
			t.Errorf("%q: skipped %v, error %v", tt.words, j.Skipped(), j.EvalErr())
		}
		tm.Close()
		tm.Close() // twice is fine
	}
}

func TestPerlSkipAndErrors(t *testing.T) {
	needPerl(t)
	tm, err := Parse([]string{`echo {= skip() if $_ eq "b"; die "boom\n" if $_ eq "c" =}`})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	for _, tt := range []struct {
		arg  string
		skip bool
		err  string
	}{{"a", false, ""}, {"b", true, ""}, {"c", false, "boom"}} {
		j := &Job{Seq: 1, Args: []string{tt.arg}}
		tm.Display(j, 1)
		if j.Skipped() != tt.skip {
			t.Errorf("%s: skipped %v, want %v", tt.arg, j.Skipped(), tt.skip)
		}
		if e := j.EvalErr(); (e == nil) != (tt.err == "") || (e != nil && !strings.Contains(e.Error(), tt.err)) {
			t.Errorf("%s: error %v, want %q", tt.arg, e, tt.err)
		}
	}
	// -X: skip() in a repeated word counts for the job
	tm.SetContext(true)
	j := &Job{Seq: 1, Args: []string{"a", "b"}}
	tm.Display(j, 1)
	if !j.Skipped() {
		t.Error("-X: skip() for the second argument did not skip the job")
	}

	for _, bad := range []struct {
		words []string
		o     ParseOptions
		want  string
	}{
		{[]string{"echo {= syntax error ( =}"}, ParseOptions{}, "syntax error"},
		{[]string{"echo {bad}"}, ParseOptions{Rpl: []string{"{bad} s/(/"}}, "{bad}"},
		{[]string{"echo x"}, ParseOptions{Rpl: []string{"{((x)} y"}}, "regexp"},
		{[]string{"echo x"}, ParseOptions{Rpl: []string{"  "}}, "TAG"},
		{[]string{"echo x"}, ParseOptions{Parens: "{=="}, "--parens"},
	} {
		tm, err := Parse(bad.words, bad.o)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Parse(%q, %+v) = %v, want an error with %q", bad.words, bad.o, err, bad.want)
			tm.Close()
		}
	}
}

// A run: skip() leaves the job out (not run, not counted), a failing
// expression fails its job with perl's message.
func TestPerlRun(t *testing.T) {
	needPerl(t)
	out, errs, sum := runT(t, Config{Jobs: 2, KeepOrder: true}, `echo {= skip() if /b/; die "no c\n" if /c/; $_=uc =}`, each("a", "b", "c", "d")...)
	if out != "A\nD\n" || sum.Done != 3 || sum.Failed != 1 || !strings.Contains(errs, "no c") {
		t.Errorf("out %q, stderr %q, summary %+v; want A, D, 3 done, 1 failed with perl's message", out, errs, sum)
	}
}

// The perl process ends with the template, and is not started for a
// template without perl expressions.
func TestPerlProcessEnds(t *testing.T) {
	needPerl(t)
	plain, err := Parse([]string{"echo {}"})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Perl() || plain.perl != nil {
		t.Error("a template without perl expressions has a perl process")
	}
	tm, err := Parse([]string{"echo {= $_ =}"})
	if err != nil {
		t.Fatal(err)
	}
	pid := tm.perl.cmd.Process.Pid
	tm.Close()
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("perl (pid %d) still runs after Close", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	j := &Job{Args: []string{"a"}}
	tm.Display(j, 1)
	if j.EvalErr() == nil {
		t.Error("a closed template still evaluates")
	}
}

func TestNoPerl(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Parse([]string{"echo {= $_ =}"})
	if !errors.Is(err, ErrNoPerl) || !strings.Contains(err.Error(), "install") {
		t.Errorf("without perl: %v, want ErrNoPerl naming what to install", err)
	}
	if _, err := Parse([]string{"echo {}"}); err != nil {
		t.Errorf("a template without perl expressions needs perl: %v", err)
	}
}

// An expression runs once per argument of a job, however often the
// command is made (the job log, a retry), as in GNU parallel: a counter
// counts jobs.
func TestPerlOncePerJob(t *testing.T) {
	needPerl(t)
	tm, err := Parse([]string{"echo {=1 $_=++$::G =}"})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	for seq, want := range []string{"echo 1", "echo 2"} {
		j := &Job{Seq: seq + 1, Args: []string{"a"}}
		for range 3 {
			if got := tm.Display(j, 1); got != want {
				t.Fatalf("job %d: %q, want %q", seq+1, got, want)
			}
		}
	}
}

// Perl expressions run in job order, as GNU parallel's, whatever order
// the jobs start in: each job's are evaluated as the job is read (a
// counter numbers the jobs), not when a worker starts it.
func TestPerlJobOrder(t *testing.T) {
	needPerl(t)
	tm, err := Parse([]string{"sleep 0.05; echo {} {=1 $_=++$::G =}"})
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	var out syncBuffer
	var late []int
	input := func(yield func(*Job, error) bool) {
		for i := range 10 {
			j := &Job{Seq: i + 1, Args: []string{strconv.Itoa(i + 1)}}
			if !yield(j, nil) {
				return
			}
			if j.perl == nil { // read while no worker had started it yet
				late = append(late, j.Seq)
			}
		}
	}
	if _, err := NewRunner(Config{Template: tm, Jobs: 2, Stdout: &out}).Run(t.Context(), input); err != nil {
		t.Fatal(err)
	}
	if len(late) > 0 {
		t.Errorf("jobs %v: perl expressions not evaluated when the job was read", late)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if f := strings.Fields(l); len(f) != 2 || f[0] != f[1] {
			t.Errorf("job and counter differ: %q (the expression ran out of job order)", l)
		}
	}
}
