package main

import (
	"strings"
	"testing"
	"time"
)

// Bad -S options are one-line usage errors (255) naming what is wrong.
func TestSSHUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--onall", "echo", ":::", "a"}, "--onall and --nonall need hosts"},
		{[]string{"run", "--nonall", "echo"}, "--onall and --nonall need hosts"},
		{[]string{"run", "-S", "0/host", "echo", ":::", "a"}, "number of jobs above 0"},
		{[]string{"run", "-S", "user:pw@host", "echo", ":::", "a"}, "passwords"},
		{[]string{"run", "-S", "@group", "echo", ":::", "a"}, "host groups"},
		{[]string{"run", "-S", ",", "echo", ":::", "a"}, "no sshlogin given"},
		{[]string{"run", "--slf", "/nonexistent/hosts", "echo", ":::", "a"}, "--sshloginfile /nonexistent/hosts"},
		{[]string{"run", "-S", "h", "--env", "_", "echo", ":::", "a"}, "--env _"},
		{[]string{"run", "-S", "h", "--sshdelay", "x", "echo", ":::", "a"}, "--sshdelay"},
		{[]string{"run", "-S", "h", "-j", "x", "echo", ":::", "a"}, "-j \"x\""},
		{[]string{"run", "-S", "h", "--cluster", "nats://127.0.0.1:1", "echo", ":::", "a"}, "-S and --cluster"},
	}
	for _, tt := range tests {
		_, errOut, code := cli(t, "", tt.args...)
		if code != 255 || !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%q: exit %d, %q; want 255 and one line with %q", tt.args, code, errOut, tt.want)
		}
	}
}

// Without -S the file options do nothing (GNU parallel ignores them), and
// -S : runs here: no ssh is needed for either.
func TestSSHLocalOnly(t *testing.T) {
	out, errOut, code := cli(t, "", "run", "-k", "--transfer", "--return", "{}.out", "--cleanup", "echo", ":::", "a", "b")
	if code != 0 || out != "a\nb\n" {
		t.Errorf("--transfer without -S: exit %d, out %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = cli(t, "", "run", "-S", "2/:", "-k", "--joblog", "-", "echo", ":::", "a")
	if code != 0 || !strings.HasPrefix(out, "Seq\tHost") || !strings.Contains(out, "a\n1\t:\t") {
		t.Errorf("-S 2/:: exit %d, out %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = cli(t, "", "run", "--nonall", "-S", ":", "echo", "hi")
	if code != 0 || out != "hi\n" {
		t.Errorf("--nonall -S :: exit %d, out %q, stderr %q", code, out, errOut)
	}
}

// --onall reads the whole input: with --pipe, its blocks' bound must not
// stop the input (it did: the run hung).
func TestSSHOnAllPipe(t *testing.T) {
	type res struct {
		out, errOut string
		code        int
	}
	done := make(chan res, 1)
	go func() {
		out, errOut, code := cli(t, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "run", "--pipe", "-N2", "--onall", "-S", "1/:", "-k", "wc", "-l")
		done <- res{out, errOut, code}
	}()
	select {
	case r := <-done:
		if r.code != 0 || r.out != strings.Repeat("2\n", 5) {
			t.Errorf("exit %d, out %q, stderr %q; want five blocks of 2 lines", r.code, r.out, r.errOut)
		}
	case <-time.After(time.Minute):
		t.Fatal("--pipe --onall did not end within a minute")
	}
}

func TestPlusHost(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
		only bool
	}{
		{[]string{"echo", "{host}"}, []string{"echo", "${PARALLEL_SSHHOST}"}, true},
		{[]string{"echo", "{sshlogin}:{}"}, []string{"echo", "${PARALLEL_SSHLOGIN}:{}"}, false},
		{[]string{"echo", "x"}, []string{"echo", "x"}, false},
	}
	for _, tt := range tests {
		got, only := plusHost(tt.in)
		if strings.Join(got, " ") != strings.Join(tt.want, " ") || only != tt.only {
			t.Errorf("plusHost(%q) = %q, %v; want %q, %v", tt.in, got, only, tt.want, tt.only)
		}
	}
}
