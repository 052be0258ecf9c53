package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runPipeOnly is -cli-pipe: only the --pipe case of the CLI cases.
func runPipeOnly() {
	dir, err := os.MkdirTemp("", "mp-bench-pipe-*")
	check(err)
	defer os.RemoveAll(dir)
	runCLIPipe(dir, buildMP(dir), findParallel(), min(*runs, 3))
}

// The mp command's --pipe against GNU parallel's: `--pipe --block 10M
// wc -l` over a generated file of numbered lines (1 GB; 8 MB in smoke
// mode), both sides in the same run, alternating. The file lives in
// dir, which the caller removes.
func runCLIPipe(dir, mpBin, parallel string, runs int) {
	size := int64(1 << 30)
	if *smoke {
		size = 8 << 20
	}
	path := filepath.Join(dir, "pipe-input")
	lines := writeLines(path, size)
	type side struct {
		name string
		argv []string
		secs []float64
	}
	sides := []*side{{name: "mp run --pipe --block 10M wc -l", argv: []string{mpBin, "run", "--pipe", "--block", "10M", "wc", "-l"}}}
	if parallel != "" {
		sides = append(sides, &side{name: "parallel --pipe --block 10M wc -l", argv: []string{parallel, "--will-cite", "--pipe", "--block", "10M", "wc", "-l"}})
	}
	for range runs {
		for _, s := range sides {
			f, err := os.Open(path)
			check(err)
			cmd := exec.Command(s.argv[0], s.argv[1:]...)
			var out bytes.Buffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = f, &out, os.Stderr
			t0 := time.Now()
			err = cmd.Run()
			s.secs = append(s.secs, time.Since(t0).Seconds())
			f.Close()
			check(err)
			if got := sumLines(out.String()); got != lines {
				fail(fmt.Errorf("%s: counted %d lines, want %d", s.name, got, lines))
			}
		}
	}
	mb := float64(size) / 1e6
	fmt.Printf("\n--pipe throughput, a %.0f MB file of numbered lines on standard input, median of %d runs (load average %s):\n\n", mb, runs, loadAvg())
	fmt.Println("| case | s | MB/s |")
	fmt.Println("|---|---:|---:|")
	for _, s := range sides {
		m := median(s.secs)
		fmt.Printf("| %s | %.2f | %.0f |\n", s.name, m, mb/m)
	}
	if parallel != "" {
		r := median(sides[1].secs) / median(sides[0].secs)
		fmt.Println()
		fmt.Println("| target | measured | met |")
		fmt.Println("|---|---:|---|")
		fmt.Printf("| mp run --pipe ≥ 4× GNU parallel --pipe (1 GB, --block 10M, wc -l) | %.1f× | %s |\n", r, yes(r >= 4))
	}
}

// writeLines writes numbered lines to path until it holds size bytes
// (about) and returns how many lines it wrote.
func writeLines(path string, size int64) int {
	f, err := os.Create(path)
	check(err)
	w := bufio.NewWriterSize(f, 1<<20)
	var written int64
	n := 0
	var b []byte
	for written < size {
		n++
		b = strconv.AppendInt(b[:0], int64(n), 10)
		b = append(b, '\n')
		w.Write(b)
		written += int64(len(b))
	}
	check(w.Flush())
	check(f.Close())
	return n
}

// sumLines adds up the numbers wc -l printed, one a line.
func sumLines(out string) int {
	total := 0
	for _, f := range strings.Fields(out) {
		n, err := strconv.Atoi(f)
		check(err)
		total += n
	}
	return total
}

// loadAvg is the 1-minute load average, or "?" if unknown.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
