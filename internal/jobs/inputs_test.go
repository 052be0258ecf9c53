package jobs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func collect(t *testing.T, srcs []Source, sep *regexp.Regexp) [][]string {
	t.Helper()
	return collectO(t, srcs, InputOptions{Colsep: sep})
}

func collectO(t *testing.T, srcs []Source, o InputOptions) [][]string {
	t.Helper()
	var out [][]string
	for a, err := range Inputs(srcs, o) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func TestInputs(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lines")
	os.WriteFile(file, []byte("x\ny\n"), 0o600)
	tests := []struct {
		name string
		srcs []Source
		sep  *regexp.Regexp
		want string
	}{
		{"one source", []Source{Args([]string{"a", "b"}, false)}, nil, "a|b"},
		{"every combination, the last fastest", []Source{Args([]string{"A", "B"}, false), Args([]string{"1", "2"}, false)}, nil, "A 1|A 2|B 1|B 2"},
		{":::+ pairs, up to the shorter", []Source{Args([]string{"A", "B", "C"}, false), Args([]string{"1", "2"}, true)}, nil, "A 1|B 2"},
		{"a file", []Source{File(file, nil, false), Args([]string{"1"}, false)}, nil, "x 1|y 1"},
		{"stdin", []Source{Stdin(strings.NewReader("p q\nr s"))}, regexp.MustCompile(" "), "p q|r s"},
		{"an empty source: no job", []Source{Args([]string{"a"}, false), Args(nil, false)}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range collect(t, tt.srcs, tt.sep) {
				got = append(got, strings.Join(a, " "))
			}
			if s := strings.Join(got, "|"); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
	cols := collect(t, []Source{Stdin(strings.NewReader("1\t2\t3\n"))}, regexp.MustCompile("\t"))
	if !slices.Equal(cols[0], []string{"1", "2", "3"}) {
		t.Errorf("colsep: %q", cols)
	}
	for _, err := range Inputs([]Source{File(filepath.Join(t.TempDir(), "none"), nil, false)}, InputOptions{}) {
		if err == nil || !strings.Contains(err.Error(), "none") {
			t.Errorf("missing file: %v", err)
		}
	}
}

func TestCount(t *testing.T) {
	srcs := []Source{Args([]string{"A", "B", "C"}, false), Args([]string{"1", "2"}, true), Args([]string{"x", "y"}, false)}
	if n, ok := Count(srcs, InputOptions{}); !ok || n != len(collect(t, srcs, nil)) || n != 4 {
		t.Errorf("Count = %d, %v", n, ok)
	}
	if n, ok := Count(srcs, InputOptions{Link: true}); !ok || n != len(collectO(t, srcs, InputOptions{Link: true})) || n != 3 {
		t.Errorf("Count --link = %d, %v", n, ok)
	}
	if _, ok := Count([]Source{Stdin(strings.NewReader(""))}, InputOptions{}); ok {
		t.Error("Count of stdin known")
	}
}

// Against GNU parallel 20221122: --link wraps the shorter source, --colsep
// trims columns unless --trim n, -0 and -d end values, --header's lines
// are skipped.
func TestInputOptions(t *testing.T) {
	abc := Args([]string{"A", "B", "C"}, false)
	tests := []struct {
		name string
		srcs []Source
		o    InputOptions
		want string
	}{
		{"--link wraps", []Source{abc, Args([]string{"1", "2"}, false)}, InputOptions{Link: true}, "A,1|B,2|C,1"},
		{"--colsep trims", []Source{Args([]string{" a , b ", "c"}, false)}, InputOptions{Colsep: regexp.MustCompile(",")}, "a,b|c"},
		{"--colsep --trim n", []Source{Args([]string{" a , b "}, false)}, InputOptions{Colsep: regexp.MustCompile(","), Trim: "n"}, " a , b "},
		{"--colsep --trim l", []Source{Args([]string{" a , b "}, false)}, InputOptions{Colsep: regexp.MustCompile(","), Trim: "l"}, "a ,b "},
		{"--colsep trims Perl's \\s (\\r too)", []Source{Args([]string{"a\r,\fb\r"}, false)}, InputOptions{Colsep: regexp.MustCompile(",")}, "a,b"},
		{"-E ends each source", []Source{abc, Args([]string{"1", "2", "3"}, false)}, InputOptions{EOF: "2"}, "A,1|B,1|C,1"},
		{"-E is a whole line, before --colsep", []Source{Stdin(strings.NewReader("a b\nole x\nole\nc\n"))}, InputOptions{EOF: "ole", Colsep: regexp.MustCompile(" ")}, "a,b|ole,x"},
		{"--trim lr alone", []Source{Args([]string{" a "}, false)}, InputOptions{Trim: "lr"}, "a"},
		{"-0", []Source{Stdin(strings.NewReader("a\nb\x00c\x00"))}, InputOptions{Null: true}, "a\nb|c"},
		{"-d ,", []Source{Stdin(strings.NewReader("a,b\n,c"))}, InputOptions{Delim: ","}, "a|b\n|c"},
		{"-d \\r\\n", []Source{Stdin(strings.NewReader("a\r\nb\rc\r\n"))}, InputOptions{Delim: "\r\n"}, "a|b\rc"},
		{"-d \\n\\n", []Source{Stdin(strings.NewReader("1\n2\n\n3\n"))}, InputOptions{Delim: "\n\n"}, "1\n2|3\n"},
		{"-d splits ::: values", []Source{Args([]string{"a:b:", "c"}, false)}, InputOptions{Delim: ":"}, "a|b|c"},
	}
	for _, tt := range tests {
		var got []string
		for _, a := range collectO(t, tt.srcs, tt.o) {
			got = append(got, strings.Join(a, ","))
		}
		if s := strings.Join(got, "|"); s != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, s, tt.want)
		}
	}
}

func TestHeaders(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, []byte("f1,f2\n1,2\n"), 0o600)
	stdin := strings.NewReader("s\nx\ny\n")
	o := InputOptions{Colsep: regexp.MustCompile(",")}
	names, srcs, err := Headers([]Source{Args([]string{"a", "1"}, false), File(file, nil, false), Stdin(stdin)}, o)
	if err != nil || strings.Join(names, " ") != "a f1 f2 s" {
		t.Fatalf("names %q, %v", names, err)
	}
	var got []string
	for _, a := range collectO(t, srcs, o) {
		got = append(got, strings.Join(a, ","))
	}
	if s := strings.Join(got, "|"); s != "1,1,2,x|1,1,2,y" {
		t.Errorf("rows %q", s)
	}
}

// --header's names in a template, as GNU parallel's set_input_source_header.
func TestNameColumns(t *testing.T) {
	names := []string{"var", "v2", ""}
	for in, want := range map[string]string{
		"{var} {var.} {var/} {var//} {var/.}": "{1} {1.} {1/} {1//} {1/.}",
		"{=v2=}{=var $_=Q($_)=}":              "{=2=}{=1 $_=Q($_)=}",
		"{v2x} {variable} {=varx =}":          "{v2x} {variable} {=varx =}",
		"{}":                                  "{}", // an empty name names nothing
	} {
		if got := NameColumns(in, names); got != want {
			t.Errorf("NameColumns(%q) = %q, want %q", in, got, want)
		}
	}
}
