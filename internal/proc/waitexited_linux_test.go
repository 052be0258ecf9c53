//go:build linux

package proc

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// WaitExited waits without reaping and says whether the process exited
// with status 0: a pool reads a worker's memory limits, for its error,
// only when it did not.
func TestWaitExited(t *testing.T) {
	tests := []struct {
		script string
		clean  bool
	}{
		{"exit 0", true},
		{"exit 3", false},
		{"exit 256", true}, // the shell's status is 256 mod 256
		{"kill -KILL $$", false},
		{"kill -TERM $$", false},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tt.script)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ok, clean := WaitExited(cmd.Process.Pid)
			if !ok || clean != tt.clean {
				t.Errorf("WaitExited = %v, %v; want true, %v", ok, clean, tt.clean)
			}
			if _, err := os.Stat("/proc/" + strconv.Itoa(cmd.Process.Pid)); err != nil {
				// a zombie still holds its pid: only Wait reaps it
				t.Errorf("pid %d reaped before Wait: %v", cmd.Process.Pid, err)
			}
			cmd.Wait()
		})
	}
}
