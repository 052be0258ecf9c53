//go:build unix

package mp_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

type whoArgs struct {
	Out string
	Err string // non-empty: return this error
}

var (
	// whoami writes "name pid daemon" of its process to a file.
	whoami = mp.Register("test.whoami", func(_ context.Context, a whoArgs) (struct{}, error) {
		me := mp.CurrentProcess()
		line := fmt.Sprintf("%s %d %v", me.Name(), me.Pid(), me.IsDaemon())
		if err := os.WriteFile(a.Out, []byte(line), 0o600); err != nil {
			return struct{}{}, err
		}
		if a.Err != "" {
			return struct{}{}, errors.New(a.Err)
		}
		return struct{}{}, nil
	})
	poolWorkerName = mp.Register("test.poolWorkerName", func(_ context.Context, _ int) (string, error) {
		return mp.CurrentProcess().Name(), nil
	})
	panicky  = mp.Register("test.panicky", func(_ context.Context, msg string) (int, error) { panic(msg) })
	exitWith = mp.Register("test.exitWith", func(_ context.Context, code int) (int, error) {
		os.Exit(code)
		return 0, nil
	})
	logging = mp.Register("test.logging", func(ctx context.Context, x int) (int, error) {
		slog.Info("working", "x", x, slog.Group("g", "d", time.Second))
		slog.Debug("quiet", "x", x)
		return x, nil
	})
)

func startProcess(t *testing.T, p *mp.Process, err error) *mp.Process {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		p.JoinTimeout(long)
	})
	return p
}

func TestProcessStartJoin(t *testing.T) {
	dir := t.TempDir()
	var ps []*mp.Process
	for i := range 2 {
		p, err := mp.NewProcess(whoami, whoArgs{Out: filepath.Join(dir, fmt.Sprint(i))})
		ps = append(ps, startProcess(t, p, err))
	}
	for _, p := range ps {
		if p.Pid() <= 0 || p.Pid() == os.Getpid() {
			t.Errorf("%v: pid %d", p, p.Pid())
		}
		if !strings.HasPrefix(p.Name(), "Process-") {
			t.Errorf("default name %q", p.Name())
		}
	}
	for i, p := range ps {
		var err error
		within(t, "Join", func() { err = p.Join(context.Background()) })
		if err != nil {
			t.Errorf("Join: %v", err)
		}
		if code, ok := p.ExitCode(); code != 0 || !ok {
			t.Errorf("ExitCode = %d, %v", code, ok)
		}
		if p.IsAlive() {
			t.Error("alive after Join")
		}
		select {
		case <-p.Sentinel():
		default:
			t.Error("sentinel open after Join")
		}
		b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprint(i)))
		if want := fmt.Sprintf("%s %d false", p.Name(), p.Pid()); string(b) != want {
			t.Errorf("the child says %q, want %q", b, want)
		}
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := p.Start(context.Background()); err == nil {
			t.Error("Start after Close accepted")
		}
	}
	if kids := mp.ActiveChildren(); len(kids) != 0 {
		t.Errorf("active children after Join: %v", kids)
	}
}

func TestProcessOutcomes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name      string
		start     func() (*mp.Process, error)
		code      int
		remoteMsg string
		panic     bool
	}{
		{"error", func() (*mp.Process, error) {
			return mp.NewProcess(whoami, whoArgs{Out: filepath.Join(dir, "e"), Err: "disk full"})
		}, 1, "disk full", false},
		{"panic", func() (*mp.Process, error) { return mp.NewProcess(panicky, "oops") }, 1, "oops", true},
		{"os.Exit", func() (*mp.Process, error) { return mp.NewProcess(exitWith, 3) }, 3, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.start()
			startProcess(t, p, err)
			within(t, "Join", func() { err = p.Join(context.Background()) })
			var pe *mp.ProcessError
			if !errors.As(err, &pe) || pe.ExitCode != tt.code || pe.PID != p.Pid() || pe.Name != p.Name() {
				t.Fatalf("Join: %#v, want a *ProcessError with exit code %d", err, tt.code)
			}
			if code, _ := p.ExitCode(); code != tt.code {
				t.Errorf("ExitCode %d", code)
			}
			var re *mp.RemoteError
			if got := errors.As(err, &re); got != (tt.remoteMsg != "") {
				t.Fatalf("RemoteError in %v: %v", err, got)
			}
			if re != nil && (re.Msg != tt.remoteMsg || re.Panic != tt.panic || (tt.panic && !strings.Contains(re.Stack, "child_test.go"))) {
				t.Errorf("remote error %+v", re)
			}
		})
	}
}

func TestProcessTerminateAndKill(t *testing.T) {
	for _, tt := range []struct {
		name   string
		stop   func(*mp.Process) error
		signal syscall.Signal
	}{
		{"Terminate", (*mp.Process).Terminate, syscall.SIGTERM},
		{"Kill", (*mp.Process).Kill, syscall.SIGKILL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mp.NewProcess(sleepy, 60_000, mp.ProcessName("loopy"))
			startProcess(t, p, err)
			if err := p.JoinTimeout(100 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("JoinTimeout on a running process: %v", err)
			}
			if !p.IsAlive() || !slices.Contains(mp.ActiveChildren(), p) {
				t.Error("a running process is not alive")
			}
			if err := p.Close(); err == nil {
				t.Error("Close of a running process accepted")
			}
			if err := tt.stop(p); err != nil {
				t.Fatal(err)
			}
			within(t, "Join after "+tt.name, func() { err = p.Join(context.Background()) })
			var pe *mp.ProcessError
			if !errors.As(err, &pe) || pe.ExitCode != -int(tt.signal) || pe.Signal != tt.signal.String() {
				t.Errorf("Join: %v, want killed by %v", err, tt.signal)
			}
			if err := tt.stop(p); err != nil {
				t.Errorf("%s of an ended process: %v", tt.name, err)
			}
		})
	}
}

func TestProcessStartContextKills(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p, err := mp.NewProcess(sleepy, 60_000)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	within(t, "Join after cancelling Start's context", func() { err = p.Join(context.Background()) })
	var pe *mp.ProcessError
	if !errors.As(err, &pe) || pe.Signal == "" {
		t.Errorf("Join: %v, want killed", err)
	}
}

func TestJoinChildrenDaemons(t *testing.T) {
	dir := t.TempDir()
	d, err := mp.NewProcess(sleepy, 60_000, mp.ProcessName("daemon"), mp.Daemon(true))
	startProcess(t, d, err)
	n, err := mp.NewProcess(whoami, whoArgs{Out: filepath.Join(dir, "n")}, mp.ProcessName("non-daemon"))
	startProcess(t, n, err)
	within(t, "JoinChildren", func() { err = mp.JoinChildren(context.Background()) })
	if err != nil {
		t.Fatal(err)
	}
	if code, ok := n.ExitCode(); !ok || code != 0 {
		t.Errorf("non-daemon: %d %v", code, ok)
	}
	if code, ok := d.ExitCode(); !ok || code != -int(syscall.SIGTERM) {
		t.Errorf("daemon not terminated: %d %v", code, ok)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "n"))
	if !strings.HasPrefix(string(b), "non-daemon ") {
		t.Errorf("child name: %q", b)
	}
}

func TestProcessBadUse(t *testing.T) {
	if _, err := mp.NewProcess(mp.Fn(func(context.Context, int) (int, error) { return 0, nil }), 1); !errors.Is(err, mp.ErrInvalidOption) || !strings.Contains(err.Error(), "mp.Register") {
		t.Errorf("closure: %v", err)
	}
	if _, err := mp.NewProcess(describe, payload{Meta: map[string]any{"f": func() {}}}); err == nil || !strings.Contains(err.Error(), `["f"]`) {
		t.Errorf("unencodable argument: %v", err)
	}
	p, err := mp.NewProcess(square, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Join(context.Background()); err == nil {
		t.Error("Join before Start accepted")
	}
	if err := p.Terminate(); err == nil {
		t.Error("Terminate before Start accepted")
	}
	if code, ok := p.ExitCode(); ok {
		t.Errorf("exit code %d before Start", code)
	}
	startProcess(t, p, nil)
	if err := p.Start(context.Background()); err == nil {
		t.Error("second Start accepted")
	}
	me := mp.CurrentProcess()
	if me.Name() != "MainProcess" || me.Pid() != os.Getpid() || !me.IsAlive() || me.Start(context.Background()) == nil || me.Join(context.Background()) == nil {
		t.Errorf("CurrentProcess: %v", me)
	}
}

func TestPoolWorkerNames(t *testing.T) {
	p := newProcPool(t)
	names, err := mp.Map(context.Background(), p, poolWorkerName, ints(20), mp.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n != "PoolWorker-1" && n != "PoolWorker-2" {
			t.Errorf("worker name %q", n)
		}
	}
}

// recorder is a slog.Handler keeping the records it gets.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func TestWorkerLogsReachThePoolLogger(t *testing.T) {
	rec := &recorder{}
	p := newProcPool(t, mp.Logger(slog.New(rec)))
	if _, err := mp.Map(context.Background(), p, logging, ints(6), mp.Chunksize(3)); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	seen := map[int64]bool{}
	for _, r := range rec.recs {
		if r.Message != "working" {
			t.Errorf("record %q (level %v) forwarded", r.Message, r.Level)
			continue
		}
		attrs := map[string]slog.Value{}
		r.Attrs(func(a slog.Attr) bool {
			if a.Value.Kind() == slog.KindGroup {
				for _, g := range a.Value.Group() {
					attrs[a.Key+"."+g.Key] = g.Value
				}
			} else {
				attrs[a.Key] = a.Value
			}
			return true
		})
		x := attrs["x"].Int64()
		seen[x] = true
		if task := attrs["mp.task"]; task.Kind() != slog.KindInt64 || task.Int64() != x {
			t.Errorf("item %d logged with mp.task %v", x, task)
		}
		if w := attrs["mp.worker"].Int64(); w != 1 && w != 2 {
			t.Errorf("mp.worker %d", w)
		}
		if attrs["mp.pid"].Int64() <= 0 || attrs["mp.func"].String() != "test.logging" {
			t.Errorf("attrs %v", attrs)
		}
		if d := attrs["g.d"]; d.Kind() != slog.KindDuration || d.Duration() != time.Second {
			t.Errorf("group attribute g.d = %v", d)
		}
	}
	if len(seen) != 6 {
		t.Errorf("records for items %v, want 0..5", seen)
	}
}

// A child that never reaches mp.Main fails Start with advice, and leaves
// no process or fd behind.
func TestProcessMissingMainNoLeaks(t *testing.T) {
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("needs /proc")
		}
		return len(entries)
	}
	before := fds()
	t.Setenv("MP_TEST_WORKER_MISBEHAVES", "exit")
	for range 3 {
		p, err := mp.NewProcess(square, 1)
		if err != nil {
			t.Fatal(err)
		}
		within(t, "Start", func() { err = p.Start(context.Background()) })
		if err == nil || !strings.Contains(err.Error(), "mp.Main()") {
			t.Fatalf("Start: %v, want advice to call mp.Main()", err)
		}
		if p.IsAlive() || len(mp.ActiveChildren()) != 0 {
			t.Error("a failed process counts as alive")
		}
		if err := p.Join(context.Background()); err == nil {
			t.Error("Join of a failed start: nil")
		}
	}
	if after := fds(); after > before {
		t.Errorf("%d fds before, %d after", before, after)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("processes left: %v", kids)
	}
}
