package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// The IPC cases (Queue, Pipe, Lock, manager) are measured twice in the
// same run: on the machine as it is ("quiet"), and with a CPU hog on
// every core, a process of this program that keeps runtime.NumCPU()
// goroutines busy. Python's side runs under the same hog, so each ratio
// compares like with like; the loaded/quiet quotient says how much of
// mp's edge survives the contention (target ≥ 0.5).

// ipcFigure is one IPC case: mp's and Python's ns per operation.
type ipcFigure struct {
	name   string
	mp, py float64 // py 0: not measured
	target float64 // the quiet ratio wanted (py/mp), 0: none
}

// ratio is how many times faster mp is (0 when Python was not measured).
func (f ipcFigure) ratio() float64 {
	if f.py == 0 || f.mp == 0 {
		return 0
	}
	return f.py / f.mp
}

// runIPCSuite runs the measurers quiet, then under the hog, and prints
// one table of both.
func runIPCSuite(measure ...func() []ipcFigure) {
	var quiet, loaded []ipcFigure
	for _, m := range measure {
		quiet = append(quiet, m()...)
	}
	stop := startHog()
	for _, m := range measure {
		loaded = append(loaded, m()...)
	}
	stop()
	fmt.Printf("\nIPC between processes, quiet (1-minute load average %s before the hog) and with a CPU hog on each of the %d cores (medians; Python under the same hog):\n\n", loadAvg(), runtime.NumCPU())
	fmt.Println("| case | quiet mp | quiet Python | quiet ratio | loaded mp | loaded Python | loaded ratio | loaded/quiet (target ≥ 0.5) |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	for i, q := range quiet {
		l := loaded[i]
		num := func(v float64) string {
			if v == 0 {
				return ""
			}
			return fmt.Sprintf("%.0f", v)
		}
		rat := func(f ipcFigure) string {
			if f.ratio() == 0 {
				return ""
			}
			s := fmt.Sprintf("%.1f×", f.ratio())
			if f.target > 0 {
				s += " (" + yes(f.ratio() >= f.target) + ")"
			}
			return s
		}
		quot := ""
		if q.ratio() > 0 && l.ratio() > 0 {
			x := l.ratio() / q.ratio()
			quot = fmt.Sprintf("%.2f (%s)", x, yes(x >= 0.5))
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", q.name, num(q.mp), num(q.py), rat(q), num(l.mp), num(l.py), rat(l), quot)
	}
}

// startHog starts a process of this program that keeps every core busy,
// waits until it runs, and returns the function that stops it.
func startHog() (stop func()) {
	self, err := os.Executable()
	check(err)
	cmd := exec.Command(self, "-hog")
	in, err := cmd.StdinPipe()
	check(err)
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	var b [1]byte
	if _, err := io.ReadFull(out, b[:]); err != nil { // its goroutines are spinning
		fail(fmt.Errorf("the CPU hog did not start: %w", err))
	}
	return func() {
		in.Close() // it exits when stdin ends
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
}

// hog keeps every core busy until stdin ends (its parent closed it, or
// died).
func hog() {
	for range runtime.NumCPU() {
		go func() {
			x := 1
			for {
				x = x*1103515245 + 12345
				if x == 0 {
					fmt.Print("")
				}
			}
		}()
	}
	os.Stdout.Write([]byte{1})
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}
