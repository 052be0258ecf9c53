package jobs

import (
	"slices"
	"testing"
)

// The replacement strings, against the examples of GNU parallel's manual.
func TestPlaceholders(t *testing.T) {
	tests := []struct {
		tmpl string
		args []string
		want []string
	}{
		{"echo {}", []string{"a/b.tar.gz"}, []string{"echo", "a/b.tar.gz"}},
		{"echo {.}", []string{"a/b.tar.gz"}, []string{"echo", "a/b.tar"}},
		{"echo {.}", []string{"dir.d/file"}, []string{"echo", "dir.d/file"}},
		{"echo {.}", []string{".hidden"}, []string{"echo", ".hidden"}},
		{"echo {/}", []string{"a/b.tar.gz"}, []string{"echo", "b.tar.gz"}},
		{"echo {//}", []string{"a/b.tar.gz"}, []string{"echo", "a"}},
		{"echo {//}", []string{"file"}, []string{"echo", "."}},
		{"echo {//}", []string{"/file"}, []string{"echo", "/"}},
		{"echo {/.}", []string{"a/b.tar.gz"}, []string{"echo", "b.tar"}},
		{"echo {#} {%}", []string{"x"}, []string{"echo", "7", "2"}},
		{"echo {2} {1}", []string{"a", "b"}, []string{"echo", "b", "a"}},
		{"echo {2.} {1/} {2//} {1/.}", []string{"d/x.c", "e/y.h"}, []string{"echo", "e/y", "x.c", "e", "x"}},
		{"echo {3}", []string{"a"}, []string{"echo", ""}},
		{"echo", []string{"a", "b c"}, []string{"echo", "a", "b c"}}, // appended
		{"cp {} {}.bak", []string{"f"}, []string{"cp", "f", "f.bak"}},
		{"grep --color=never {}", []string{"x"}, []string{"grep", "--color=never", "x"}},
	}
	for _, tt := range tests {
		tm, err := Parse([]string{tt.tmpl})
		if err != nil {
			t.Fatal(err)
		}
		if tm.Shell() {
			t.Errorf("%q runs through a shell", tt.tmpl)
			continue
		}
		argv, _ := tm.Command(&Job{Seq: 7, Args: tt.args}, 2)
		if !slices.Equal(argv, tt.want) {
			t.Errorf("%q with %q = %q, want %q", tt.tmpl, tt.args, argv, tt.want)
		}
	}
}

func TestShellTemplates(t *testing.T) {
	tests := []struct {
		words []string
		args  []string
		line  string
	}{
		{[]string{"echo {} | wc -c"}, []string{"a b"}, "echo 'a b' | wc -c"},
		{[]string{"echo", "{}", ">", "{.}.out"}, []string{"x.txt"}, "echo x.txt > x.out"},
		{[]string{"echo $HOME {}"}, []string{"it's"}, `echo $HOME 'it'\''s'`},
		{[]string{"FOO=1 env"}, []string{"a"}, "FOO=1 env a"},
		{[]string{"awk '{print $1}'"}, []string{"f"}, "awk '{print $1}' f"},
		{[]string{"echo {} ;"}, []string{""}, "echo '' ;"},
		{[]string{"test {key} = {key.city} && cat"}, nil, "test Lyon,1 = Lyon && cat"},
	}
	for _, tt := range tests {
		tm, err := Parse(tt.words)
		if err != nil {
			t.Fatal(err)
		}
		if !tm.Shell() {
			t.Errorf("%q runs without a shell", tt.words)
			continue
		}
		j := &Job{Seq: 1, Args: tt.args, Vars: map[string]string{"key": "Lyon,1", "key.city": "Lyon"}}
		if _, line := tm.Command(j, 1); line != tt.line {
			t.Errorf("%q with %q = %q, want %q", tt.words, tt.args, line, tt.line)
		}
	}
	for _, bad := range [][]string{nil, {"   "}} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
