package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The mp command against xargs -P and GNU parallel: many tiny jobs, and
// --pipe's throughput (clipipe.go).

type cliCase struct {
	name string
	cmd  func(n int) *exec.Cmd
	keep bool // output order checked
}

// runCLI measures the cases and prints their table.
func runCLI() {
	n, runs := 5000, *runs
	if *smoke {
		n, runs = 50, 1
	}
	dir, err := os.MkdirTemp("", "mp-bench-cli-*")
	check(err)
	defer os.RemoveAll(dir)
	mpBin := buildMP(dir)
	parallel := findParallel()

	nums := make([]string, n)
	for i := range nums {
		nums[i] = strconv.Itoa(i + 1)
	}
	lines := strings.Join(nums, "\n") + "\n"
	withStdin := func(c *exec.Cmd) *exec.Cmd { c.Stdin = strings.NewReader(lines); return c }
	cases := []cliCase{
		{"mp run -j2 true", func(int) *exec.Cmd {
			return exec.Command(mpBin, append([]string{"run", "-j", "2", "true", ":::"}, nums...)...)
		}, false},
		{"xargs -P2 -n1 true", func(int) *exec.Cmd { return withStdin(exec.Command("xargs", "-P", "2", "-n", "1", "true")) }, false},
		{"mp run -j2 -k echo {}", func(int) *exec.Cmd {
			return exec.Command(mpBin, append([]string{"run", "-j", "2", "-k", "echo", "{}", ":::"}, nums...)...)
		}, true},
		{"xargs -P2 -n1 echo (no order)", func(int) *exec.Cmd { return withStdin(exec.Command("xargs", "-P", "2", "-n", "1", "echo")) }, false},
	}
	if parallel != "" {
		cases = append(cases,
			cliCase{"parallel -j2 true", func(int) *exec.Cmd {
				return exec.Command(parallel, append([]string{"--will-cite", "-j", "2", "true", ":::"}, nums...)...)
			}, false},
			cliCase{"parallel -j2 -k echo {}", func(int) *exec.Cmd {
				return exec.Command(parallel, append([]string{"--will-cite", "-j", "2", "-k", "echo", "{}", ":::"}, nums...)...)
			}, true},
		)
	} else {
		fmt.Fprintln(os.Stderr, "bench: GNU parallel not found (apt-get install parallel): its cases are skipped")
	}
	// The cases take turns, run after run, so that a change in the
	// machine's load during the measurement falls on every case alike.
	ts := map[string][]float64{}
	for range runs {
		for _, c := range cases {
			cmd := c.cmd(n)
			var out bytes.Buffer
			cmd.Stdout = &out
			cmd.Stderr = os.Stderr
			t0 := time.Now()
			check(cmd.Run())
			ts[c.name] = append(ts[c.name], float64(time.Since(t0).Nanoseconds())/float64(n))
			if c.keep && out.String() != lines {
				fail(fmt.Errorf("%s: output out of order or incomplete", c.name))
			}
		}
	}
	res := map[string]float64{}
	for name, t := range ts {
		res[name] = median(t)
	}
	fmt.Printf("\nThe mp command, %d jobs on 2 slots, median of %d runs (wall time per job):\n\n", n, runs)
	fmt.Println("| case | µs/job |")
	fmt.Println("|---|---:|")
	for _, c := range cases {
		fmt.Printf("| %s | %.0f |\n", c.name, res[c.name]/1e3)
	}
	fmt.Println()
	fmt.Println("| target | measured | met |")
	fmt.Println("|---|---:|---|")
	r := res["mp run -j2 true"] / res["xargs -P2 -n1 true"]
	fmt.Printf("| mp run ≤ xargs -P2 (true, direct exec) | %.2f× xargs | %s |\n", r, yes(r <= 1))
	if parallel != "" {
		for _, pair := range [][2]string{{"parallel -j2 true", "mp run -j2 true"}, {"parallel -j2 -k echo {}", "mp run -j2 -k echo {}"}} {
			r := res[pair[0]] / res[pair[1]]
			fmt.Printf("| %s ≥ 4× faster than %s | %.1f× | %s |\n", pair[1], pair[0], r, yes(r >= 4))
		}
	}
	runCLIPipe(dir, mpBin, parallel, runs)
}

// buildMP builds the mp command into dir and returns its path.
func buildMP(dir string) string {
	mpBin := filepath.Join(dir, "mp")
	build := exec.Command("go", "build", "-o", mpBin, "./cmd/mp")
	build.Dir = ".." // the main module: the command's own dependencies (pflag) are there
	build.Stderr = os.Stderr
	check(build.Run())
	return mpBin
}

// findParallel returns GNU parallel's path, installing Debian's package
// if it is missing and this machine can (not in smoke mode).
func findParallel() string {
	if p, err := exec.LookPath("parallel"); err == nil {
		return p
	}
	if *smoke || os.Geteuid() != 0 {
		return ""
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return ""
	}
	fmt.Fprintln(os.Stderr, "bench: installing GNU parallel (apt-get install parallel)")
	for _, args := range [][]string{{"update"}, {"install", "-y", "parallel"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench: apt-get %s: %v\n%s", args[0], err, out)
			return ""
		}
	}
	p, _ := exec.LookPath("parallel")
	return p
}
