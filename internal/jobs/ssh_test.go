package jobs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseSSHLogin(t *testing.T) {
	tests := []struct {
		in   string
		want SSHLogin
		err  string
	}{
		{in: "server", want: SSHLogin{Login: "server", Host: "server"}},
		{in: "user@server", want: SSHLogin{Login: "user@server", Host: "user@server"}},
		{in: "8/my-8-cpu-server.example.com", want: SSHLogin{Login: "my-8-cpu-server.example.com", Host: "my-8-cpu-server.example.com", Slots: 8}},
		{in: "2/my_other_username@my-dualcore.example.net", want: SSHLogin{Login: "my_other_username@my-dualcore.example.net", Host: "my_other_username@my-dualcore.example.net", Slots: 2}},
		{in: "ssh -p 2222 server.example.net", want: SSHLogin{Login: "ssh -p 2222 server.example.net", Command: "ssh -p 2222", Host: "server.example.net"}},
		{in: "4/ssh -p 2222 quadserver.example.net", want: SSHLogin{Login: "ssh -p 2222 quadserver.example.net", Command: "ssh -p 2222", Host: "quadserver.example.net", Slots: 4}},
		{in: "//usr/local/bin/myssh -p 2222 -l me hexacpu", want: SSHLogin{Login: "/usr/local/bin/myssh -p 2222 -l me hexacpu", Command: "/usr/local/bin/myssh -p 2222 -l me", Host: "hexacpu"}},
		{in: "6//usr/local/bin/myssh -p 2222 hexacpu", want: SSHLogin{Login: "/usr/local/bin/myssh -p 2222 hexacpu", Command: "/usr/local/bin/myssh -p 2222", Host: "hexacpu", Slots: 6}},
		{in: ":", want: SSHLogin{Login: ":", Local: true}},
		{in: "16/:", want: SSHLogin{Login: ":", Local: true, Slots: 16}},
		{in: "@group1/server1", want: SSHLogin{Login: "server1", Host: "server1"}},
		{in: "@g1+g2/4/ssh -p 2222 server3", want: SSHLogin{Login: "ssh -p 2222 server3", Command: "ssh -p 2222", Host: "server3", Slots: 4}},
		{in: "  spaced  ", want: SSHLogin{Login: "spaced", Host: "spaced"}},
		{in: "0/server", err: "number of jobs above 0"},
		{in: "@group", err: "host groups are not supported"},
		{in: "", err: "want [N/]"},
		{in: "user:secret@server", err: "passwords"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSSHLogin(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSSHLogin(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSSHLogin(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSSHLogins(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	os.MkdirAll(filepath.Join(home, ".parallel"), 0o755)
	os.WriteFile(filepath.Join(home, ".parallel", "sshloginfile"), []byte("# a comment\nfromfile\n\n2/other\n"), 0o644)
	hosts := func(ls []SSHLogin) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Login)
		}
		return out
	}
	tests := []struct {
		in, stdin string
		want      []string
	}{
		{in: "a,b", want: []string{"a", "b"}},
		{in: "a\nb,c", want: []string{"a", "b", "c"}},
		{in: `ssh -o X=a\,b host`, want: []string{"ssh -o X=a,b host"}},
		{in: "ssh -o X=a,,b host", want: []string{"ssh -o X=a,b host"}},
		{in: "1/:,2/server", want: []string{":", "server"}},
		{in: "..", want: []string{"fromfile", "other"}},
		{in: "-", stdin: "s1\n# no\ns2\n", want: []string{"s1", "s2"}},
		{in: "a,,", want: []string{"a,"}},
	}
	for _, tt := range tests {
		got, err := ParseSSHLogins(tt.in, strings.NewReader(tt.stdin))
		if err != nil || !reflect.DeepEqual(hosts(got), tt.want) {
			t.Errorf("ParseSSHLogins(%q) = %q, %v; want %q", tt.in, hosts(got), err, tt.want)
		}
	}
	if _, err := ReadSSHLoginFile(filepath.Join(home, "missing"), nil); err == nil || !strings.Contains(err.Error(), "--sshloginfile") {
		t.Errorf("a missing --sshloginfile: %v, want an error naming the option", err)
	}
	bad := filepath.Join(home, "bad")
	os.WriteFile(bad, []byte("ok\n0/zero\n"), 0o644)
	if _, err := ReadSSHLoginFile(bad, nil); err == nil || !strings.Contains(err.Error(), bad+":2") {
		t.Errorf("a bad line: %v, want an error naming the file and line 2", err)
	}
}

func TestSlotsFor(t *testing.T) {
	tests := []struct {
		spec string
		cpus int
		want int
		bad  bool
	}{
		{"", 8, 8, false}, {"", 0, 1, false}, {"3", 8, 3, false}, {"50%", 8, 4, false}, {"200%", 2, 4, false},
		{"+2", 8, 10, false}, {"-2", 8, 6, false}, {"-20", 8, 1, false}, {"0", 8, 256, false},
		{"x", 8, 0, true}, {"1.5", 8, 0, true}, {"-5%", 8, 0, true},
	}
	for _, tt := range tests {
		got, err := SlotsFor(tt.spec, tt.cpus)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("SlotsFor(%q, %d) = %d, %v; want %d (error: %v)", tt.spec, tt.cpus, got, err, tt.want, tt.bad)
		}
	}
}

// The paths of --transferfile and --return as GNU parallel's man page
// places them.
func TestPlaceOf(t *testing.T) {
	tests := []struct {
		p, wd              string
		local, remote, rel string
	}{
		{"/tmp/foo/bar", "", "/", "/", "tmp/foo/bar"},
		{"tmp/foo/bar", "", ".", ".", "tmp/foo/bar"},
		{"/tmp/./foo/bar", "", "/tmp", ".", "foo/bar"},
		{"tmp/./foo/bar", "w", "tmp", "w", "foo/bar"},
		{"./a", "/abs/wd", ".", "/abs/wd", "a"},
		{"out/./in/file.out", "", "out", ".", "in/file.out"},
	}
	for _, tt := range tests {
		l, r, rel := placeOf(tt.p, tt.wd)
		if l != tt.local || r != tt.remote || rel != tt.rel {
			t.Errorf("placeOf(%q, %q) = %q, %q, %q; want %q, %q, %q", tt.p, tt.wd, l, r, rel, tt.local, tt.remote, tt.rel)
		}
	}
}

// The remote script sets GNU parallel's variables and --env's, quoted,
// and enters the working directory before the command.
func TestRemoteScript(t *testing.T) {
	t.Setenv("MP_SSH_TEST_VAR", "it's $HOME")
	t.Setenv("BASH_FUNC_myfn%%", "() {  echo fn\n}")
	r := NewRunner(Config{SSH: &SSH{Env: []string{"MP_SSH_TEST_VAR", "myfn", "MP_SSH_UNSET_VAR"}}})
	h := &sshHost{SSHLogin: SSHLogin{Login: "u@h", Host: "u@h"}}
	got := r.remoteScript(h, &Job{Seq: 7}, 3, "echo hi", "~/w d")
	for _, want := range []string{
		"PARALLEL_SEQ=7;export PARALLEL_SEQ;", "PARALLEL_JOBSLOT=3;export PARALLEL_JOBSLOT;",
		"PARALLEL_SSHLOGIN='u@h';", `MP_SSH_TEST_VAR='it'"'"'s $HOME';export MP_SSH_TEST_VAR;`,
		"myfn () {  echo fn\n}\nexport -f myfn", "mkdir -p ~/'w d' && cd ~/'w d' || exit 255;", "\necho hi",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("remote script lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "MP_SSH_UNSET_VAR") {
		t.Errorf("an unset --env variable is set remotely:\n%s", got)
	}
}
