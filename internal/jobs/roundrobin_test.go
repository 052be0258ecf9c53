package jobs

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"
)

// runSeqT runs tmpl over the jobs of input with cfg, failing the test if
// the run does not end within a minute.
func runSeqT(t *testing.T, cfg Config, tmpl string, input iter.Seq2[*Job, error]) (string, Summary, error) {
	t.Helper()
	tm, err := Parse([]string{tmpl})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	cfg.Template, cfg.Stdout, cfg.Stderr = tm, &out, &errb
	var sum Summary
	done := make(chan struct{})
	go func() {
		defer close(done)
		sum, err = NewRunner(cfg).Run(context.Background(), input)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the run did not end within a minute")
	}
	return out.String(), sum, err
}

// seqOf yields the blocks, then err if not nil.
func seqOf(err error, blocks ...string) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for _, b := range blocks {
			if !yield([]byte(b), nil) {
				return
			}
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

// --round-robin: at most -j jobs, each reading many blocks, as GNU
// parallel 20221122 deals them.
func TestRobin(t *testing.T) {
	blocks := []string{"a\n", "b\n", "c\n", "d\n", "e\n"}
	tests := []struct {
		name    string
		blocks  []string
		jobs    int
		ordered bool
		header  string
		tmpl    string
		want    string // -k output; "sorted:" a sorted list of lines; "oneof:" outputs split by |
	}{
		{"-k: the blocks to the jobs in turn", blocks, 2, true, "", "echo job {#}; cat", "job 1\na\nc\ne\njob 2\nb\nd\n"},
		{"-k -j3", blocks, 3, true, "", "echo job {#}; cat", "job 1\na\nd\njob 2\nb\ne\njob 3\nc\n"},
		{"a job for each block up to -j", blocks[:2], 8, true, "", "echo job {#}; cat", "job 1\na\njob 2\nb\n"},
		{"--header: once a job", blocks, 2, true, "h\n", "cat", "h\na\nc\ne\nh\nb\nd\n"},
		{"no input: no job", nil, 2, true, "", "echo job {#}", ""},
		{"unordered: every block once", blocks, 2, false, "", "cat", "sorted:a b c d e"},
		{"unordered: -j jobs at most", blocks, 3, false, "", "cat >/dev/null; echo {#}", "sorted:1 2 3"},
		// a job that stops reading: the others get the blocks, nothing
		// hangs. Job 1's blocks written before it ended are lost with it;
		// the write that finds it gone loses its block too, and the ones
		// after go to job 2: which of a, c and e that is depends on when
		// job 1's shell exits (a loaded machine: before a is written).
		{"-k: a job ends early", blocks, 2, true, "", "if [ {#} = 1 ]; then exit 0; fi; cat", "oneof:b\nd\n|b\nd\ne\n|b\nc\nd\ne\n"},
		{"unordered: a job ends early", blocks, 2, false, "", "if [ {#} = 1 ]; then exit 0; fi; cat", "sorted:?"},
		{"every job ends early", blocks, 2, false, "", "true", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRobin(seqOf(nil, tt.blocks...), tt.jobs, tt.ordered, []byte(tt.header))
			defer r.Close()
			out, sum, err := runSeqT(t, Config{Jobs: tt.jobs, KeepOrder: tt.ordered}, tt.tmpl, r.Jobs())
			if err != nil || sum.Failed != 0 {
				t.Fatalf("%v, %+v", err, sum)
			}
			if want, ok := strings.CutPrefix(tt.want, "sorted:"); ok {
				lines := strings.Fields(out)
				slices.Sort(lines)
				if got := strings.Join(lines, " "); want != "?" && got != want {
					t.Errorf("output %q, want %q", got, want)
				}
				if want == "?" && len(lines) > len(tt.blocks) {
					t.Errorf("output %q: a block was given twice", out)
				}
				return
			}
			if alts, ok := strings.CutPrefix(tt.want, "oneof:"); ok {
				if !slices.Contains(strings.Split(alts, "|"), out) {
					t.Errorf("output %q, want one of %q", out, alts)
				}
				return
			}
			if out != tt.want {
				t.Errorf("output %q, want %q", out, tt.want)
			}
		})
	}
	// a reading error ends the run with it
	boom := errors.New("boom")
	r := NewRobin(seqOf(boom, "a\n"), 2, true, nil)
	defer r.Close()
	if _, _, err := runSeqT(t, Config{Jobs: 2, KeepOrder: true}, "cat", r.Jobs()); !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
}

// Close stops the dealing and ends the writers even if no job ever ran:
// nothing leaks (goleak in TestMain).
func TestRobinClose(t *testing.T) {
	var blocks []string
	for range 100 {
		blocks = append(blocks, strings.Repeat("x", 1<<16)) // more than a pipe holds
	}
	r := NewRobin(seqOf(nil, blocks...), 2, false, nil)
	var started []*Job
	for j, err := range r.Jobs() {
		if err != nil {
			t.Fatal(err)
		}
		started = append(started, j)
		if len(started) == 2 {
			break
		}
	}
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not end within 30s")
	}
}
