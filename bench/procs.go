package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/mp-go/mp"
)

// Registered at package level: worker processes (this program re-executed)
// find them by name.
var (
	sqProc   = mp.Register("bench.sq", mp.Plain(sq))
	spinProc = mp.Register("bench.spin", func(_ context.Context, ms int) (int, error) { return burn(time.Duration(ms) * time.Millisecond), nil })
)

type procSizes struct{ chunked, single, apply, runs int }

// procResults measures the process pool, in ns per task.
func procResults(sz procSizes) (map[string]float64, time.Duration, time.Duration) {
	ctx := context.Background()
	res := map[string]float64{}
	time1 := func(name string, n int, fn func()) {
		var ts []float64
		for range sz.runs {
			t0 := time.Now()
			fn()
			ts = append(ts, float64(time.Since(t0).Nanoseconds())/float64(n))
		}
		res[name] = median(ts)
	}
	pool, err := mp.NewPool(mp.Processes(*workers))
	check(err)
	defer pool.Close()
	chunked, single := ints(sz.chunked), ints(sz.single)
	time1("mp.Map chunksize=1000", sz.chunked, func() {
		_, err := mp.Map(ctx, pool, sqProc, chunked, mp.Chunksize(1000))
		check(err)
	})
	time1("mp.Map chunksize=1", sz.single, func() {
		_, err := mp.Map(ctx, pool, sqProc, single, mp.Chunksize(1))
		check(err)
	})
	time1("mp.Apply round trip", sz.apply, func() {
		for i := range sz.apply {
			_, err := mp.Apply(ctx, pool, sqProc, i)
			check(err)
		}
	})
	time1("raw pipe round trip (two Go processes)", sz.apply, func() { pipeRoundTrips(sz.apply) })
	time1("mp.NewPool(Processes(2)) + one result", 1, func() {
		p, err := mp.NewPool(mp.Processes(2))
		check(err)
		_, err = mp.Apply(ctx, p, sqProc, 3)
		check(err)
		p.Close()
	})
	// The same with workers started ahead (mp.Prestart, as Python's
	// forkserver): before each run, untimed, two spares are made ready.
	var ts []float64
	for range sz.runs {
		check(mp.Prestart(ctx, 2))
		t0 := time.Now()
		p, err := mp.NewPool(mp.Processes(2))
		check(err)
		_, err = mp.Apply(ctx, p, sqProc, 3)
		check(err)
		p.Close()
		ts = append(ts, float64(time.Since(t0).Nanoseconds()))
	}
	check(mp.Prestart(ctx, 0))
	res["mp.NewPool(Processes(2)) + one result, 2 prestarted"] = median(ts)
	serial, par := cpuBound(pool, spinProc)
	return res, serial, par
}

func ints(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// pipeRoundTrips sends n 8-byte messages to a child process that echoes
// them: the floor for a parent/worker round trip.
func pipeRoundTrips(n int) {
	self, err := os.Executable()
	check(err)
	cmd := exec.Command(self, "-pipe-echo")
	in, err := cmd.StdinPipe()
	check(err)
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	var buf [8]byte
	for i := range n {
		binary.LittleEndian.PutUint64(buf[:], uint64(i))
		_, err := in.Write(buf[:])
		check(err)
		_, err = io.ReadFull(out, buf[:])
		check(err)
	}
	in.Close()
	check(cmd.Wait())
}

func pipeEcho() {
	var buf [8]byte
	for {
		if _, err := io.ReadFull(os.Stdin, buf[:]); err != nil {
			return
		}
		if _, err := os.Stdout.Write(buf[:]); err != nil {
			return
		}
	}
}

func runPythonProcs(sz procSizes) map[string]float64 {
	m := map[string]float64{}
	if err := runPythonJSON("procs.py", &m, sz.chunked, sz.single/10, sz.apply/10, min(sz.runs, 3)); err != nil {
		fmt.Fprintln(os.Stderr, "bench: Python process pools skipped:", err)
		return nil
	}
	return m
}
