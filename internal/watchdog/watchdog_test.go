//go:build unix

package watchdog

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startGroup starts `sleep 300` leading a process group of its own.
func startGroup(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

// ended waits (bounded) until cmd has exited and reports how.
func ended(cmd *exec.Cmd, within time.Duration) (bool, syscall.Signal) {
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		return true, ws.Signal()
	case <-time.After(within):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return false, 0
	}
}

// The watchdog kills the groups still added when the program's side
// closes (as when the program dies), and leaves those removed alone.
func TestWatchdogKillsGroupsLeftWhenItsProgramEnds(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep")
	}
	d, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	kept, removed := startGroup(t), startGroup(t)
	d.Add(kept.Process.Pid)
	d.Add(removed.Process.Pid)
	d.Remove(removed.Process.Pid)
	if err := d.Close(); err != nil {
		t.Fatalf("the watchdog process: %v", err)
	}
	if ok, sig := ended(kept, 20*time.Second); !ok || sig != syscall.SIGKILL {
		t.Errorf("the group still added: ended %v, by %v; want killed by SIGKILL", ok, sig)
	}
	if alive := syscall.Kill(removed.Process.Pid, 0) == nil; !alive {
		t.Error("the group removed was killed")
	}
	if err := d.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// The watchdog leads a process group of its own: a signal to the
// program's group does not reach it.
func TestWatchdogLeadsItsOwnGroup(t *testing.T) {
	d, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pid := d.cmd.Process.Pid
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skip("no /proc")
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 3 || f[2] != strconv.Itoa(pid) {
		t.Errorf("the watchdog %d is in process group %v, want its own", pid, f[2:3])
	}
}
