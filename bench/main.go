// Command bench runs mp side by side with its peers on the same machine in
// one run and prints a Markdown table of medians and ratios (the source of
// docs/benchmarks.md).
//
//	cd bench && go run .            # full run (about four minutes)
//	cd bench && go run . -smoke     # tiny sizes, for CI: checks that every case runs
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alitto/pond/v2"
	"github.com/mp-go/mp"
	"github.com/panjf2000/ants/v2"
	concIter "github.com/sourcegraph/conc/iter"
	concPool "github.com/sourcegraph/conc/pool"
	"golang.org/x/sync/errgroup"
)

var (
	n         = flag.Int("n", 1_000_000, "trivial tasks per case")
	runs      = flag.Int("runs", 7, "runs per case; the median is reported")
	workers   = flag.Int("workers", 2, "workers for every pool")
	smoke     = flag.Bool("smoke", false, "tiny sizes: check that every case runs, measure nothing")
	python    = flag.Bool("python", true, "run Python's pools side by side (bench/python/peers.py)")
	rssN      = flag.Int("rss-items", 10_000_000, "items of the lazy Imap whose peak RSS is measured")
	cpuMS     = flag.Int("cpu-ms", 150, "milliseconds of one CPU-bound task")
	rssKid    = flag.Bool("rss-child", false, "internal: run the lazy Imap and print peak RSS")
	echo      = flag.Bool("pipe-echo", false, "internal: echo 8-byte messages (raw pipe round trip)")
	procsOnly = flag.Bool("procs", false, "run only the process-pool cases (and their Python peers)")
	cliOnly   = flag.Bool("cli", false, "run only the mp command against xargs and GNU parallel")
	pipeOnly  = flag.Bool("cli-pipe", false, "run only mp run --pipe against GNU parallel --pipe (a 1 GB input)")
	shmOnly   = flag.Bool("shm", false, "run only the shared-memory case")
	mgrOnly   = flag.Bool("manager", false, "run only the manager case (quiet and loaded)")
	ipcOnly   = flag.Bool("ipc", false, "run only the IPC cases (Queue, Pipe, Lock, manager), quiet and with a CPU hog on every core")
	hogOnly   = flag.Bool("hog", false, "internal: keep every core busy until stdin closes")
	clOnly    = flag.Bool("cluster", false, "run only the NATS cluster case")
	clProf    = flag.String("cluster-profile", "", "run only the cluster pool's one-task-per-message cases for 15s, CPU profile of the pool's process to this file")
	jsProf    = flag.String("baseline-profile", "", "the same for the hand-written JetStream baseline of the cluster case")
	codecOnly = flag.Bool("codec", false, "run only the codec comparison (gob against mp's CBOR)")
	statsCost = flag.Bool("stats-cost", false, "run only Map of 200,000 ints on goroutines and processes (the cost of Pool.Stats' counters)")
)

//go:noinline
func sq(x int) int { return x * x }

var sqCtx = func(_ context.Context, x int) (int, error) { return sq(x), nil }

func main() {
	mp.Main() // worker processes of the process-pool cases are this program
	if url := os.Getenv(jsWorkerEnv); url != "" {
		jsWorker(url) // a worker of the hand-written JetStream baseline
		return
	}
	flag.Parse()
	if *hogOnly {
		hog()
		return
	}
	if *echo {
		pipeEcho()
		return
	}
	if *rssKid {
		rssChild()
		return
	}
	if *smoke {
		*n, *runs, *rssN, *cpuMS = 10_000, 1, 100_000, 5
	}
	sz := procSizes{chunked: 200_000, single: 200_000, apply: 10_000, runs: *runs}
	if *smoke {
		sz = procSizes{chunked: 2000, single: 200, apply: 100, runs: 1}
	}
	if *procsOnly {
		runProcs(sz)
		return
	}
	if *cliOnly {
		runCLI()
		return
	}
	if *pipeOnly {
		runPipeOnly()
		return
	}
	if *shmOnly {
		runShm()
		return
	}
	if *mgrOnly {
		runIPCSuite(measureManager)
		return
	}
	if *ipcOnly {
		runIPCSuite(measureQueue, measurePipeLock, measureManager)
		return
	}
	if *clProf != "" {
		profileCluster(*clProf, 15*time.Second)
		return
	}
	if *jsProf != "" {
		profileBaseline(*jsProf, 15*time.Second)
		return
	}
	if *clOnly {
		runCluster()
		return
	}
	if *codecOnly {
		reportCodecs()
		return
	}
	if *statsCost {
		runStatsCost()
		return
	}
	ctx := context.Background()
	pool, err := mp.NewPool(mp.Threads(*workers))
	if err != nil {
		fail(err)
	}
	defer pool.Close()
	sqf := mp.Fn(sqCtx)
	in := make([]int, *n)
	for i := range in {
		in[i] = i
	}
	out := make([]int, *n)

	cases := []struct {
		name string
		run  func() []int // returns the slice that holds the results
	}{
		{"serial loop", func() []int {
			for i, x := range in {
				out[i], _ = sqCtx(ctx, x)
			}
			return out
		}},
		{"mp.Map", func() []int {
			r, err := mp.Map(ctx, pool, sqf, in)
			check(err)
			return r
		}},
		{"mp.Imap", func() []int {
			i := 0
			for v, err := range mp.Imap(ctx, pool, sqf, slices.Values(in)) {
				check(err)
				out[i] = v
				i++
			}
			return out
		}},
		{"mp.ImapUnordered", func() []int {
			i := 0
			for v, err := range mp.ImapUnordered(ctx, pool, sqf, slices.Values(in)) {
				check(err)
				out[i] = v
				i++
			}
			return out
		}},
		{"mp.Submit (future per task)", func() []int {
			fs := make([]*mp.Future[int], len(in))
			for i, x := range in {
				fs[i] = mp.Submit(ctx, pool, sqf, x)
			}
			for i, f := range fs {
				v, err := f.Get(ctx)
				check(err)
				out[i] = v
			}
			return out
		}},
		{"ants Submit", func() []int {
			p, err := ants.NewPool(*workers)
			check(err)
			defer p.Release()
			var wg sync.WaitGroup
			wg.Add(len(in))
			for i, x := range in {
				check(p.Submit(func() { out[i] = sq(x); wg.Done() }))
			}
			wg.Wait()
			return out
		}},
		{"pond v2 group Submit", func() []int {
			p := pond.NewPool(*workers)
			defer p.StopAndWait()
			g := p.NewGroup()
			for i, x := range in {
				g.Submit(func() { out[i] = sq(x) })
			}
			check(g.Wait())
			return out
		}},
		{"conc pool.Go", func() []int {
			p := concPool.New().WithMaxGoroutines(*workers)
			for i, x := range in {
				p.Go(func() { out[i] = sq(x) })
			}
			p.Wait()
			return out
		}},
		{"conc iter.Map", func() []int {
			return concIter.Mapper[int, int]{MaxGoroutines: *workers}.Map(in, func(x *int) int { return sq(*x) })
		}},
		{"errgroup SetLimit", func() []int {
			var g errgroup.Group
			g.SetLimit(*workers)
			for i, x := range in {
				g.Go(func() error { out[i] = sq(x); return nil })
			}
			check(g.Wait())
			return out
		}},
		{"chunked channel pool (hand-written)", func() []int {
			chunks := make(chan [2]int, 64)
			var wg sync.WaitGroup
			for range *workers {
				wg.Go(func() {
					for c := range chunks {
						for i := c[0]; i < c[1]; i++ {
							out[i], _ = sqCtx(ctx, in[i])
						}
					}
				})
			}
			cs := max(len(in)/(4**workers), 1)
			for lo := 0; lo < len(in); lo += cs {
				chunks <- [2]int{lo, min(lo+cs, len(in))}
			}
			close(chunks)
			wg.Wait()
			return out
		}},
	}

	want := 0
	for _, x := range in {
		want += sq(x)
	}
	res := map[string]float64{}
	var order []string
	// Interleave the cases run by run, so that machine noise spreads over all.
	times := make([][]float64, len(cases))
	for r := 0; r < *runs; r++ {
		for i, c := range cases {
			clear(out)
			runtime.GC()
			t0 := time.Now()
			got := c.run()
			times[i] = append(times[i], float64(time.Since(t0).Nanoseconds())/float64(*n))
			sum := 0
			for _, v := range got {
				sum += v
			}
			if sum != want {
				fail(fmt.Errorf("%s: wrong results", c.name))
			}
		}
	}
	for i, c := range cases {
		res[c.name] = median(times[i])
		order = append(order, c.name)
	}

	spin := mp.Fn(func(_ context.Context, ms int) (int, error) { return burn(time.Duration(ms) * time.Millisecond), nil })
	serialCPU, parCPU := cpuBound(pool, spin)

	rss := measureRSS()

	var py map[string]float64
	if *python {
		py = runPython()
	}
	report(res, order, serialCPU, parCPU, rss, py)
	runProcs(sz)
	runShm() // and the IPC cases, quiet and with a CPU hog on every core
	runCluster()
	runCLI()
	if !*smoke {
		reportCodecs()
	}
}

// runProcs measures and reports the process-pool cases and their Python
// peers.
func runProcs(sz procSizes) {
	procRes, procSerial, procPar := procResults(sz)
	var pyProcs map[string]float64
	if *python {
		pyProcs = runPythonProcs(sz)
	}
	reportProcs(sz, procRes, procSerial, procPar, pyProcs)
}

// cpuBound times 16 tasks of ~cpuMS each, in a serial loop and with
// mp.Map on pool.
func cpuBound(pool *mp.Pool, spin mp.Func[int, int]) (serial, parallel time.Duration) {
	ctx := context.Background()
	tasks := slices.Repeat([]int{*cpuMS}, 16)
	t0 := time.Now()
	for _, ms := range tasks {
		spin.Call(ctx, ms)
	}
	serial = time.Since(t0)
	t0 = time.Now()
	_, err := mp.Map(ctx, pool, spin, tasks, mp.Chunksize(1))
	check(err)
	return serial, time.Since(t0)
}

// burn spins for about d of CPU time and returns something the compiler
// cannot drop.
func burn(d time.Duration) int {
	end := time.Now().Add(d)
	x := 0
	for time.Now().Before(end) {
		for i := range 10000 {
			x += i * i
		}
	}
	return x
}

// measureRSS runs the lazy Imap in a fresh process and returns its peak
// resident set in MiB.
func measureRSS() float64 {
	self, err := os.Executable()
	check(err)
	cmd := exec.Command(self, "-rss-child", "-rss-items", strconv.Itoa(*rssN), "-workers", strconv.Itoa(*workers))
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	check(err)
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	check(err)
	return v
}

func rssChild() {
	ctx := context.Background()
	pool, err := mp.NewPool(mp.Threads(*workers))
	check(err)
	defer pool.Close()
	items := func(yield func(int) bool) {
		for i := range *rssN {
			if !yield(i) {
				return
			}
		}
	}
	sum, count := 0, 0
	for v, err := range mp.Imap(ctx, pool, mp.Fn(sqCtx), items) {
		check(err)
		sum += v
		count++
	}
	if count != *rssN {
		fail(fmt.Errorf("rss child: %d results of %d", count, *rssN))
	}
	fmt.Printf("%.1f\n", peakRSSMiB())
}

func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1 // not Linux
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

func runPython() map[string]float64 {
	m := map[string]float64{}
	if err := runPythonJSON("peers.py", &m, *n, min(*runs, 3), *workers); err != nil {
		fmt.Fprintln(os.Stderr, "bench: Python peers skipped:", err)
		return nil
	}
	return m
}

// runPythonJSON runs bench/python/script with args and decodes its JSON.
func runPythonJSON(script string, v any, args ...int) error {
	py, err := exec.LookPath("python3")
	if err != nil {
		return err
	}
	argv := []string{filepath.Join("python", script)}
	for _, a := range args {
		argv = append(argv, strconv.Itoa(a))
	}
	cmd := exec.Command(py, argv...)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func reportProcs(sz procSizes, res map[string]float64, serial, par time.Duration, py map[string]float64) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "\nProcess pools, %d workers: %d items chunked, %d items one per task, %d sequential round trips (Python: a tenth of the last two).\n\n", *workers, sz.chunked, sz.single, sz.apply)
	fmt.Fprintf(&b, "| case | mp ns/task | Python case | Python ns/task | mp faster by |\n|---|---:|---|---:|---:|\n")
	pairs := [][2]string{
		{"mp.Map chunksize=1000", "Pool.map chunksize=1000"},
		{"mp.Map chunksize=1000", "ProcessPoolExecutor.map chunksize=1000"},
		{"mp.Map chunksize=1", "Pool.map chunksize=1"},
		{"mp.Map chunksize=1", "ProcessPoolExecutor.map chunksize=1"},
		{"mp.Apply round trip", "Pool.apply round trip"},
		{"mp.NewPool(Processes(2)) + one result", "Pool(2) start + one result, spawn"},
		{"mp.NewPool(Processes(2)) + one result", "Pool(2) start + one result, fork"},
		{"mp.NewPool(Processes(2)) + one result, 2 prestarted", "Pool(2) start + one result, forkserver"},
		{"mp.NewPool(Processes(2)) + one result, 2 prestarted", "Pool(2) start + one result, fork"},
	}
	for _, p := range pairs {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %.0f | %.1f× |\n", p[0], res[p[0]], p[1], py[p[1]], py[p[1]]/res[p[0]])
	}
	raw := res["raw pipe round trip (two Go processes)"]
	fmt.Fprintf(&b, "| raw pipe round trip (two Go processes) | %.0f | | | mp.Apply is %.2f× it |\n", raw, res["mp.Apply round trip"]/raw)
	fmt.Fprintf(&b, "\nCPU-bound 16×%dms on %d worker processes: serial %v, mp.Map %v, speed-up %.2f×.\n",
		*cpuMS, *workers, serial.Round(time.Millisecond), par.Round(time.Millisecond), float64(serial)/float64(par))
	os.Stdout.Write(b.Bytes())
}

func report(res map[string]float64, order []string, serialCPU, parCPU time.Duration, rss float64, py map[string]float64) {
	var b bytes.Buffer
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Run %s on %s: %s/%s, %d CPUs, %s; %d trivial tasks (x*x) on %d workers, median of %d runs.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), *n, *workers, *runs)
	fmt.Fprintf(&b, "| case | ns/task | × serial loop |\n|---|---:|---:|\n")
	serial := res["serial loop"]
	for _, name := range order {
		fmt.Fprintf(&b, "| %s | %.1f | %.2f |\n", name, res[name], res[name]/serial)
	}
	mapNS := res["mp.Map"]
	speedup := float64(serialCPU) / float64(parCPU)
	fmt.Fprintf(&b, "\n| target | measured | met |\n|---|---:|---|\n")
	target := func(name string, v float64, format string, ok bool) {
		fmt.Fprintf(&b, "| %s | "+format+" | %s |\n", name, v, yes(ok))
	}
	target("mp.Map ≤ 2.5× serial loop", mapNS/serial, "%.2f×", mapNS <= 2.5*serial)
	target("mp.Map ≥ 10× faster than conc iter.Map", res["conc iter.Map"]/mapNS, "%.1f×", res["conc iter.Map"] >= 10*mapNS)
	target("mp.Imap ≤ 2× mp.Map", res["mp.Imap"]/mapNS, "%.2f×", res["mp.Imap"] <= 2*mapNS)
	target("mp.Submit ≤ ants Submit (ns/task ratio)", res["mp.Submit (future per task)"]/res["ants Submit"], "%.2f×", res["mp.Submit (future per task)"] <= res["ants Submit"])
	target(fmt.Sprintf("CPU-bound 16×%dms speed-up ≥ 1.9× (serial %v, mp.Map %v)", *cpuMS, serialCPU.Round(time.Millisecond), parCPU.Round(time.Millisecond)), speedup, "%.2f×", speedup >= 1.9)
	target(fmt.Sprintf("peak RSS of mp.Imap over %d lazy items < 64 MiB", *rssN), rss, "%.1f MiB", rss > 0 && rss < 64)
	if py != nil {
		fmt.Fprintf(&b, "\nPython %s on the same tasks, same run (bench/python/peers.py; submit cases use n/50 tasks):\n\n", pythonVersion())
		fmt.Fprintf(&b, "| Python case | ns/task | mp counterpart | mp ns/task | mp faster by |\n|---|---:|---|---:|---:|\n")
		pairs := [][2]string{
			{"serial loop", "serial loop"},
			{"Pool.map", "mp.Map"},
			{"Pool.imap(chunksize=1000)", "mp.Imap"},
			{"Pool.imap_unordered(chunksize=1000)", "mp.ImapUnordered"},
			{"ProcessPoolExecutor.submit", "mp.Submit (future per task)"},
			{"ThreadPoolExecutor.submit", "mp.Submit (future per task)"},
		}
		for _, p := range pairs {
			fmt.Fprintf(&b, "| %s | %.0f | %s | %.1f | %.0f× |\n", p[0], py[p[0]], p[1], res[p[1]], py[p[0]]/res[p[1]])
		}
	}
	if *smoke {
		fmt.Fprintln(&b, "\n(smoke mode: sizes too small for the figures to mean anything)")
	}
	os.Stdout.Write(b.Bytes())
}

func pythonVersion() string {
	b, err := exec.Command("python3", "--version").Output()
	if err != nil {
		return "3"
	}
	return strings.TrimPrefix(strings.TrimSpace(string(b)), "Python ")
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func check(err error) {
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
