//go:build linux

package conformance

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
)

// TestResourceTracker ports TestResourceTracker.test_resource_tracker: a
// program that made two segments is terminated; one it named is unlinked
// by the test, the other must be unlinked for it.
// CPython: TestResourceTracker.test_resource_tracker
func TestResourceTracker(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx := testCtx(t)
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = proc.SelfEnv("MP_CONF_ROLE=leak-shm")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(out)
			var names []string
			for range 2 {
				line, err := r.ReadString('\n')
				if err != nil || strings.HasPrefix(line, "error:") {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("the program: %q, %v", line, err)
				}
				names = append(names, strings.TrimSpace(line))
			}
			// _resource_unlink(name1)
			m, err := mp.AttachSharedMemory(names[0])
			if err != nil {
				t.Fatal(err)
			}
			m.Unlink()
			m.Close()
			cmd.Process.Signal(sig)
			cmd.Wait()
			deadline := time.Now().Add(long)
			for {
				m, err := mp.AttachSharedMemory(names[1])
				if errors.Is(err, fs.ErrNotExist) {
					break
				}
				if err == nil {
					m.Close()
				}
				if time.Now().After(deadline) {
					m.Unlink()
					t.Fatalf("a segment leaked after the program was ended by %v", sig)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// stderrFlush is _TestSubclassingProcess._test_stderr_flush: the child's
// stderr goes to a file, then it fails.
var stderrFlush = mp.Register("conf.stderrFlush", func(_ context.Context, path string) (struct{}, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return struct{}{}, err
	}
	if err := syscall.Dup2(int(f.Fd()), 2); err != nil {
		return struct{}{}, err
	}
	panic("division by zero # MARKER")
})

// TestStderrFlush ports _TestSubclassingProcess.test_stderr_flush: a
// failing child's traceback reaches its stderr before it exits.
// CPython: _TestSubclassingProcess.test_stderr_flush
func TestStderrFlush(t *testing.T) {
	ctx := testCtx(t)
	path := t.TempDir() + "/stderr"
	p := startProcess(t, stderrFlush, path, mp.Daemon(true))
	p.Join(ctx)
	if code, _ := p.ExitCode(); code != 1 {
		t.Fatalf("exitcode %d, want 1", code)
	}
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "division by zero # MARKER") {
		t.Fatalf("the child's stderr: %q, %v", b, err)
	}
}
