package jobs

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// -m and -X fill command lines up to -s and spread the last line over
// the job slots, as GNU parallel 20221122 does for the same inputs.
func TestFillLines(t *testing.T) {
	seq := func(from, to int, suffix string) [][]string {
		var out [][]string
		for i := from; i <= to; i++ {
			out = append(out, []string{fmt.Sprint(i) + suffix})
		}
		return out
	}
	tests := []struct {
		name     string
		tmpl     string
		context  bool
		maxChars int
		slots    int
		maxArgs  int
		in       [][]string
		want     []string // the lines, as Display makes them
	}{
		{"X-s80 (par_rpl_repeats)", "echo a{}b{.}c{.}", true, 80, 1, 0, seq(1, 15, ".gif"), []string{
			"echo a1.gifb1c1 a2.gifb2c2 a3.gifb3c3 a4.gifb4c4 a5.gifb5c5 a6.gifb6c6",
			"echo a7.gifb7c7 a8.gifb8c8 a9.gifb9c9 a10.gifb10c10 a11.gifb11c11 a12.gifb12c12",
			"echo a13.gifb13c13 a14.gifb14c14 a15.gifb15c15"}},
		{"m-s80", "echo a{}b{.}c{.}", false, 80, 1, 0, seq(1, 6, ".gif"), []string{
			"echo a1.gif 2.gif 3.gif 4.gif 5.gif 6.gifb1 2 3 4 5 6c1 2 3 4 5 6"}},
		{"distribute at the end (par_distribute_args_at_EOF)", "echo", true, 100, 2, 0, seq(1, 40, ""), []string{
			"echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34",
			"echo 35 36 37", "echo 38 39 40"}},
		{"spread when all fit", "echo {}", false, 0, 4, 0, seq(1, 8, ""), []string{"echo 1 2", "echo 3 4", "echo 5 6", "echo 7 8"}},
		{"-n caps", "echo {}", false, 0, 1, 3, seq(1, 7, ""), []string{"echo 1 2 3", "echo 4 5 6", "echo 7"}},
		{"two sources", "echo {1}-{2}", true, 0, 1, 0, [][]string{{"a", "c"}, {"b", "d"}}, []string{"echo a-c"}}, // {1} {2}: the first input's
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := Parse([]string{tt.tmpl})
			if err != nil {
				t.Fatal(err)
			}
			tm.SetContext(tt.context)
			g := Grouping{Multi: true, Context: tt.context, Fill: tm, MaxChars: tt.maxChars, Slots: tt.slots, MaxArgs: tt.maxArgs}
			var got []string
			for args, err := range g.Apply(noErr(tt.in)) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, tm.Display(&Job{Args: args}, 1))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if max := tt.maxChars; max > 0 {
				for _, l := range got {
					if len(l) >= max {
						t.Errorf("%q is %d long, -s %d", l, len(l), max)
					}
				}
			}
		})
	}
}

func TestFillDefaultAndTooLong(t *testing.T) {
	tm, _ := Parse([]string{"echo"})
	g := Grouping{Multi: true, Fill: tm, Slots: 1}
	var in [][]string
	for i := range 30000 {
		in = append(in, []string{fmt.Sprint(i + 1)})
	}
	var lens []int
	for args, err := range g.Apply(noErr(in)) {
		if err != nil {
			t.Fatal(err)
		}
		lens = append(lens, len(tm.Display(&Job{Args: args}, 1)))
	}
	// GNU parallel 20221122: seq 30000 | parallel -j1 -m echo prints
	// lines of 63653, 63653 and 41585 characters ("echo " less)
	if !slices.Equal(lens, []int{63658, 63658, 41590}) {
		t.Errorf("line lengths %v, want GNU parallel's [63658 63658 41590]", lens)
	}
	g.MaxChars = 10
	for _, err := range g.Apply(noErr([][]string{{"123456789012"}})) {
		if !errors.Is(err, ErrLineTooLong) || !strings.Contains(err.Error(), "123456789012") {
			t.Errorf("an input longer than -s: %v, want ErrLineTooLong naming it", err)
		}
		break
	}
}

func noErr(in [][]string) func(func([]string, error) bool) {
	return func(yield func([]string, error) bool) {
		for _, a := range in {
			if !yield(a, nil) {
				return
			}
		}
	}
}
