//go:build unix

package mp_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
)

// cmdArgs tell cmdSleep what to run and where to write the pid it prints.
type cmdArgs struct {
	PidFile string
	Wait    bool // wait for the command; else leave it running and return
}

// groupSleep is a command whose first process (sh) waits for a second
// (sleep) in its process group, and prints the second's pid: killing the
// first alone, as exec.CommandContext does, leaves the sleep running.
const groupSleep = "sleep 300 & echo $!; wait; true"

// cmdSleep runs groupSleep through mp.Command with the task's context and
// writes the sleep's pid to the file.
var cmdSleep = mp.Register("test.cmdSleep", func(ctx context.Context, a cmdArgs) (int, error) {
	cmd := mp.Command(ctx, "sh", "-c", groupSleep)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, errors.Join(err, perr)
	}
	os.WriteFile(a.PidFile+".tmp", []byte(strconv.Itoa(pid)), 0o600)
	os.Rename(a.PidFile+".tmp", a.PidFile)
	if a.Wait {
		return pid, cmd.Wait()
	}
	go cmd.Wait() // left running in the background
	return pid, nil
})

// gone waits until pid has ended, and fails the test if it does not.
func gone(t *testing.T, what string, pid int) {
	t.Helper()
	deadline := time.Now().Add(long)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the sleep (pid %d) that a task's command started outlived %s", pid, what)
	}
}

// Issue 12, defect 2.13, for goroutine pools and the program: a task's
// mp.Command, and what it started, end with the task's context, the
// pool's Terminate or Close, its worker process, and the program even
// when it is SIGKILLed.
func TestCommandEndsWithItsOwner(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	bg := context.Background()
	// running starts the task on p and returns the sleep's pid, and the
	// call's outcome when it ends.
	running := func(t *testing.T, ctx context.Context, p *mp.Pool) (int, <-chan error) {
		t.Helper()
		file := filepath.Join(t.TempDir(), "pid")
		done := make(chan error, 1)
		go func() {
			_, err := mp.Apply(ctx, p, cmdSleep, cmdArgs{PidFile: file, Wait: true})
			done <- err
		}()
		return readPid(t, file), done
	}
	t.Run("Threads Terminate", func(t *testing.T) {
		p, err := mp.NewPool(mp.Threads(1))
		if err != nil {
			t.Fatal(err)
		}
		pid, done := running(t, bg, p)
		within(t, "Terminate", p.Terminate)
		gone(t, "pool.Terminate()", pid)
		within(t, "the call", func() { <-done })
	})
	t.Run("Threads ctx cancel", func(t *testing.T) {
		p, err := mp.NewPool(mp.Threads(1))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ctx, cancel := context.WithCancel(bg)
		pid, done := running(t, ctx, p)
		cancel()
		gone(t, "the call's context", pid)
		within(t, "the call", func() {
			// context.Canceled, or the command's "signal: killed" if the
			// task ended before Apply's Get looked at its context
			if err := <-done; err == nil {
				t.Error("the call: no error, want its context's or the killed command's")
			}
		})
	})
	t.Run("Threads Close, started and left", func(t *testing.T) {
		p, err := mp.NewPool(mp.Threads(1))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := mp.Apply(bg, p, cmdSleep, cmdArgs{PidFile: filepath.Join(t.TempDir(), "pid")})
		if err != nil {
			t.Fatal(err)
		}
		within(t, "Close", func() { p.Close() })
		gone(t, "its task and pool.Close()", pid)
	})
	t.Run("Processes Terminate", func(t *testing.T) {
		p := newProcPool(t, mp.Processes(1))
		pid, done := running(t, bg, p)
		within(t, "Terminate", p.Terminate)
		gone(t, "its worker process, killed by pool.Terminate()", pid)
		within(t, "the call", func() { <-done })
	})
	t.Run("Output", func(t *testing.T) {
		// what the command left running in its group ends with it
		out, err := mp.Command(bg, "sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!").Output()
		pid, perr := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil || perr != nil {
			t.Fatalf("Output: %q, %v", out, err)
		}
		gone(t, "its command's Output()", pid)
	})
	t.Run("program SIGKILLed", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "pid")
		cmd := exec.Command(os.Args[0], "-test.run=^TestCommandHelper$")
		cmd.Env = proc.SelfEnv("MP_TEST_COMMAND_PIDFILE=" + file)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cmd.Process.Kill()
			cmd.Wait()
		}()
		pid := readPid(t, file)
		cmd.Process.Kill()
		cmd.Wait()
		gone(t, "its program, SIGKILLed", pid)
	})
}

// TestCommandHelper is the program of "program SIGKILLed": a Threads
// pool whose task runs a command and waits, until the test kills it.
func TestCommandHelper(t *testing.T) {
	file := os.Getenv("MP_TEST_COMMAND_PIDFILE")
	if file == "" {
		t.Skip("run by TestCommandEndsWithItsOwner")
	}
	p, err := mp.NewPool(mp.Threads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Terminate()
	ctx, cancel := context.WithTimeout(context.Background(), 3*long)
	defer cancel()
	mp.Apply(ctx, p, cmdSleep, cmdArgs{PidFile: file, Wait: true})
}

// A Cmd is an exec.Cmd: its outcome and errors are os/exec's.
func TestCommandOutcome(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		script string
		out    string
		code   int
	}{
		{"success", "echo hi", "hi\n", 0},
		{"failure", "echo out; echo err >&2; exit 3", "out\n", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := mp.Command(ctx, "sh", "-c", tt.script).Output()
			if string(out) != tt.out {
				t.Errorf("Output: %q, want %q", out, tt.out)
			}
			var ee *exec.ExitError
			switch {
			case tt.code == 0 && err != nil:
				t.Errorf("Output: %v", err)
			case tt.code != 0 && (!errors.As(err, &ee) || ee.ExitCode() != tt.code || string(ee.Stderr) != "err\n"):
				t.Errorf("Output: %v (%#v), want exit status %d with stderr %q", err, ee, tt.code, "err\n")
			}
		})
	}
	both, err := mp.Command(ctx, "sh", "-c", "echo a; echo b >&2").CombinedOutput()
	if err != nil || string(both) != "a\nb\n" {
		t.Errorf("CombinedOutput: %q, %v", both, err)
	}
	c := mp.Command(ctx, "true")
	if err := c.Wait(); err == nil {
		t.Error("Wait before Start: no error")
	}
	if err := c.Run(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := c.Wait(); err == nil {
		t.Error("a second Wait: no error")
	}
	if err := mp.Command(ctx, "/nonexistent/command").Run(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing command: %v, want os.ErrNotExist", err)
	}
}

// A task runs an external command through mp.Command: the command, and
// anything it starts, ends with the task's call, the pool, or the
// program, however it ends.
func ExampleCommand() {
	pool, err := mp.NewPool(mp.Threads(2))
	if err != nil {
		panic(err)
	}
	defer pool.Close()
	greet := mp.Fn(func(ctx context.Context, name string) (string, error) {
		out, err := mp.Command(ctx, "sh", "-c", `echo "hello $0"`, name).Output()
		return strings.TrimSpace(string(out)), err
	})
	got, err := mp.Map(context.Background(), pool, greet, []string{"ada", "bob"})
	fmt.Println(got, err)
	// Output: [hello ada hello bob] <nil>
}
