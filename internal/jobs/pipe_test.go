package jobs

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func blocks(t *testing.T, in string, o PipeOptions) []string {
	t.Helper()
	var out []string
	for b, err := range Blocks(strings.NewReader(in), o) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// The blocks of --pipe, as GNU parallel 20221122 cuts the same inputs.
func TestBlocks(t *testing.T) {
	nums := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
	tests := []struct {
		name string
		in   string
		o    PipeOptions
		want string
	}{
		{"-N3", nums, PipeOptions{Records: 3}, "1\n2\n3\n|4\n5\n6\n|7\n8\n9\n|10\n"},
		{"--block 6: whole lines up to the size", nums, PipeOptions{Block: 6}, "1\n2\n3\n|4\n5\n6\n|7\n8\n9\n|10\n"},
		// the block grows by 30% until a record fits, and stays grown
		{"a record longer than a block", "abcdefgh\nx\n", PipeOptions{Block: 3}, "abcdefgh\nx\n"},
		{"records longer than a block", "abcdefgh\nx\nyy\nzz\nabcdefghijklmn\n1\n2\n3\n4\n5\n6\n7\n8\n9\n", PipeOptions{Block: 3},
			"abcdefgh\nx\n|yy\nzz\n|abcdefghijklmn\n1\n|2\n3\n4\n5\n6\n7\n8\n9\n"},
		{"--recend: the last in the block", "ab;cd;ef;", PipeOptions{RecEnd: ";", Block: 5}, "ab;|cd;|ef;"},
		{"--recend --recstart: the last pair in the block", "a;>b;c;>d;>e", PipeOptions{RecEnd: ";", RecStart: ">", Block: 6}, "a;|>b;c;|>d;>e"},
		// -L N with --pipe: records of N lines
		{"-L 4", nums, PipeOptions{Lines: 4}, "1\n2\n3\n4\n5\n6\n7\n8\n|9\n10\n"},
		{"-L 3 --block 10", nums, PipeOptions{Lines: 3, Block: 10}, "1\n2\n3\n|4\n5\n6\n|7\n8\n9\n|10\n"},
		{"-L 3 --block 4: a record longer than a block", nums, PipeOptions{Lines: 3, Block: 4}, "1\n2\n3\n|4\n5\n6\n|7\n8\n9\n|10\n"},
		{"-L 2 -N 2", nums, PipeOptions{Lines: 2, Records: 2}, "1\n2\n3\n4\n|5\n6\n7\n8\n|9\n10\n"},
		{"-L 2, no newline at the end", "a\nb\nc", PipeOptions{Lines: 2}, "a\nb\n|c"},
		// --recend '' or --recstart '': every byte is a record
		{"--recend '' -N 1", "1\n2\n", PipeOptions{EveryByte: true, Records: 1}, "1|\n|2|\n"},
		{"--recend '' -N 2", "ab\ncd\n", PipeOptions{EveryByte: true, Records: 2}, "ab|\nc|d\n"},
		{"--recend '' --block 3", "ab\ncd\ne", PipeOptions{EveryByte: true, Block: 3}, "ab\n|cd\n|e"},
		{"--regexp --recend '' -N 2", "ab\ncd\n", PipeOptions{EveryByte: true, Regexp: true, Records: 2}, "ab|\nc|d\n"},
		{"no newline at the end", "a\nb", PipeOptions{Block: 2}, "a\n|b"},
		{"--recstart", "a\nb\n>x\nc\n>y\nd\n", PipeOptions{RecStart: ">", Records: 1}, "a\nb\n|>x\nc\n|>y\nd\n"},
		{"--recend", "a0b0c", PipeOptions{RecEnd: "0", Records: 1}, "a0|b0|c"},
		{"--recend and --recstart", "a;\n>b;c;\n>d", PipeOptions{RecEnd: ";\n", RecStart: ">", Records: 1}, "a;\n|>b;c;\n|>d"},
		{"empty input", "", PipeOptions{Block: 10}, ""},
	}
	for _, tt := range tests {
		if got := strings.Join(blocks(t, tt.in, tt.o), "|"); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// streaming: a block comes before the input ends
	pr, pw := io.Pipe()
	go pw.Write([]byte("a\nb\n"))
	for b := range Blocks(pr, PipeOptions{Records: 1}) {
		if string(b) != "a\n" {
			t.Errorf("first block %q", b)
		}
		break
	}
	pw.Close()
}

// --pipepart's parts cover the file, each ending at a line's end.
func TestParts(t *testing.T) {
	var sb strings.Builder
	for i := range 20000 {
		sb.WriteString(strings.Repeat("x", i%7) + "\n")
	}
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte(sb.String()), 0o600)
	parts, err := Parts(path, PipeOptions{Block: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var off int64
	data := sb.String()
	for _, p := range parts {
		if p.Off != off || p.Len <= 0 || data[p.Off+p.Len-1] != '\n' {
			t.Fatalf("part %+v after offset %d", p, off)
		}
		off += p.Len
	}
	if off != int64(len(data)) || len(parts) < 50 {
		t.Errorf("%d parts cover %d of %d bytes", len(parts), off, len(data))
	}
}

// --pipepart's cuts, as GNU parallel 20221122 cuts the same file: the first
// record end starting at or after a block's size from the last cut.
func TestPartsLikeGNU(t *testing.T) {
	nums := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n" // 21 bytes
	tests := []struct {
		name string
		o    PipeOptions
		want []int64 // the parts' lengths
	}{
		{"--block 6: a line end at the block's size is not a cut", PipeOptions{Block: 6}, []int64{8, 8, 5}},
		{"--block 5", PipeOptions{Block: 5}, []int64{6, 6, 6, 3}},
		{"--block 8 (-j3 --block -1)", PipeOptions{Block: 8}, []int64{10, 11}},
		{"--recend 5", PipeOptions{Block: 3, RecEnd: "5"}, []int64{9, 12}},
		{"--recend '': a cut every block", PipeOptions{Block: 8, EveryByte: true}, []int64{8, 8, 5}},
		{"a block bigger than the file", PipeOptions{Block: 100}, []int64{21}},
	}
	path := filepath.Join(t.TempDir(), "nums")
	os.WriteFile(path, []byte(nums), 0o600)
	for _, tt := range tests {
		parts, err := Parts(path, tt.o)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, p := range parts {
			got = append(got, p.Len)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: parts %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A big --pipe block reaches its job whole through mp's own (bigger) pipe;
// a job that does not read it ends without a hang.
func TestBigBlockStdin(t *testing.T) {
	block := []byte(strings.Repeat("0123456789abcde\n", 1<<16)) // 1 MiB
	tests := []struct {
		tmpl, want string
	}{
		{"wc -c", "1048576\n"},
		{"head -c 5", "01234"},
		{"true", ""},
	}
	for _, tt := range tests {
		in := func(yield func(*Job, error) bool) {
			for i := range 3 {
				if !yield(&Job{Seq: i + 1, Data: block}, nil) {
					return
				}
			}
		}
		out, sum, err := runSeqT(t, Config{Jobs: 2, KeepOrder: true}, tt.tmpl, in)
		if err != nil || sum.Failed != 0 || strings.TrimSpace(out) != strings.TrimSpace(strings.Repeat(tt.want, 3)) {
			t.Errorf("%s: %q, %+v, %v; want %q three times", tt.tmpl, out, sum, err, tt.want)
		}
	}
}
