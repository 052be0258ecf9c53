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
	var out [][]string
	for a, err := range Inputs(srcs, sep) {
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
		{":::+ pairs, the shorter wraps", []Source{Args([]string{"A", "B", "C"}, false), Args([]string{"1", "2"}, true)}, nil, "A 1|B 2|C 1"},
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
	for _, err := range Inputs([]Source{File(filepath.Join(t.TempDir(), "none"), nil, false)}, nil) {
		if err == nil || !strings.Contains(err.Error(), "none") {
			t.Errorf("missing file: %v", err)
		}
	}
}

func TestCount(t *testing.T) {
	srcs := []Source{Args([]string{"A", "B", "C"}, false), Args([]string{"1", "2"}, true), Args([]string{"x", "y"}, false)}
	if n, ok := Count(srcs); !ok || n != len(collect(t, srcs, nil)) || n != 6 {
		t.Errorf("Count = %d, %v", n, ok)
	}
	if _, ok := Count([]Source{Stdin(strings.NewReader(""))}); ok {
		t.Error("Count of stdin known")
	}
}
