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
		{"echo {.}", []string{".hidden"}, []string{"echo", ""}}, // GNU parallel's s:\.[^/.]*$::
		{"echo {//} {//} {//} {//}", []string{"a/"}, []string{"echo", ".", ".", ".", "."}},
		{"echo {//}", []string{"/a"}, []string{"echo", "/"}},
		{"echo {//}", []string{"a//b/"}, []string{"echo", "a"}},
		{"echo {/}", []string{"a/b.tar.gz"}, []string{"echo", "b.tar.gz"}},
		{"echo {//}", []string{"a/b.tar.gz"}, []string{"echo", "a"}},
		{"echo {//}", []string{"file"}, []string{"echo", "."}},
		{"echo {//}", []string{"/file"}, []string{"echo", "/"}},
		{"echo {/.}", []string{"a/b.tar.gz"}, []string{"echo", "b.tar"}},
		{"echo {#} {%}", []string{"x"}, []string{"echo", "7", "2"}},
		{"echo {2} {1}", []string{"a", "b"}, []string{"echo", "b", "a"}},
		{"echo {2.} {1/} {2//} {1/.}", []string{"d/x.c", "e/y.h"}, []string{"echo", "e/y", "x.c", "e", "x"}},
		{"echo {3}", []string{"a"}, []string{"echo"}}, // a missing column gives no argument
		{"echo x{3}y", []string{"a"}, []string{"echo", "xy"}},
		{"echo {-1} {-2}", []string{"a", "b"}, []string{"echo", "b", "a"}},
		{"echo {}", []string{"a", "b"}, []string{"echo", "a", "b"}},
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
		{[]string{"echo $HOME {}"}, []string{"it's"}, `echo $HOME 'it'"'"'s'`},
		{[]string{"{}"}, []string{"echo a; echo b"}, "echo a; echo b"}, // a command per input
		{nil, []string{"echo a"}, "echo a"},                            // no command: the same
		{[]string{"x{}", "{}"}, []string{"a b"}, "xa b 'a b'"},         // in the command's name: as it is
		{[]string{"exit", "{}"}, []string{"3"}, "exit 3"},
		{[]string{"cd /tmp && pwd"}, nil, "cd /tmp && pwd"},
		{[]string{"FOO=1 env"}, []string{"a"}, "FOO=1 env a"},
		{[]string{"awk '{print $1}'"}, []string{"f"}, "awk '{print $1}' f"},
		{[]string{"echo {} ;"}, []string{""}, "echo '' ;"},
		{[]string{"test {key} = {key.city} && cat"}, nil, "test 'Lyon,1' = Lyon && cat"},
		{[]string{"echo {foo} {1x}"}, []string{"a"}, "echo {foo} {1x} a"}, // not replacement strings: text, as in GNU parallel
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
	for _, bad := range [][]string{{"   "}} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// GNU parallel 20221122's --dry-run output for the same inputs.
func TestQuoteLikeGNU(t *testing.T) {
	for in, want := range map[string]string{
		"a$b": "'a$b'", "a=b": "'a=b'", "a+b": "a+b", "a/b-c_d.e": "a/b-c_d.e", "a'": `'a'"'"`,
		"": "''", "a'b'c": `'a'"'"'b'"'"'c'`, "é": "'é'", "a:b": "'a:b'", "'a": `"'"'a'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		words []string
		o     ParseOptions
		args  []string
		want  string
	}{
		{[]string{"echo", ",,", "{}"}, ParseOptions{Replace: ",,"}, []string{"a"}, "echo a {}"},
		{[]string{"echo", ",,{.}"}, ParseOptions{Replace: ",,"}, []string{"a.b"}, "echo a.ba"},
		{[]string{"echo", "a b"}, ParseOptions{Quote: true}, []string{"c d"}, "echo 'a b' 'c d'"},
		{[]string{"echo", "{}x"}, ParseOptions{Quote: true}, []string{"c d"}, "echo 'c d'x"},
		{[]string{"echo {+/} {+.} {..} {+..} {/..} {##} {0#} {:2} {:1:2} {#d} {%z} {/b/X}"}, ParseOptions{Plus: true}, []string{"dir/ab.tar.gz"},
			"echo dir gz dir/ab tar.gz ab 12 07 r/ab.tar.gz ir ir/ab.tar.gz dir/ab.tar.g dir/aX.tar.gz"},
		{[]string{"echo {+/}"}, ParseOptions{}, []string{"d/a"}, "echo {+/} d/a"},
		{[]string{"echo {..} {+..} {...} {/..}"}, ParseOptions{Plus: true}, []string{"a.b/1.2.3"}, "echo a.b/1 2.3 a.b/1.2.3 1"},
		{[]string{"echo {#z.*z.} {##z.*z.} {%.z} {%%.z.*z}"}, ParseOptions{Plus: true}, []string{"z.z.foo.z.z"}, "echo foo.z.z z z.z.foo.z z"},
		{[]string{"echo {:-none} {//a/X} {^a} {^b} {^^b} {slot}"}, ParseOptions{Plus: true}, []string{"abaB"}, "echo abaB XbXB AbaB abaB aBaB 1"},
		{[]string{"echo {:-none}"}, ParseOptions{Plus: true}, []string{""}, "echo none"},
		{[]string{"echo FOO BE S SL"}, ParseOptions{Rename: map[string]string{"FOO": "{/}", "BE": "{/.}", "S": "{#}", "SL": "{%}"}}, []string{"d/a.b"}, "echo a.b a 7 1"},
	}
	for _, tt := range tests {
		tm, err := Parse(tt.words, tt.o)
		if err != nil {
			t.Fatal(err)
		}
		if got := tm.Display(&Job{Seq: 7, Total: 12, Args: tt.args}, 1); got != tt.want {
			t.Errorf("%q %+v: %q, want %q", tt.words, tt.o, got, tt.want)
		}
	}
}
