//go:build unix

package proc

import (
	"bufio"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// TestStop checks each step of Stop: a process that ends on EOF stops at
// the first, one that honours SIGTERM at the second, one that ignores it
// is killed; ExitStatus says which.
func TestStop(t *testing.T) {
	for _, tc := range []struct {
		name      string
		script    string
		closeIn   bool
		termGrace time.Duration
		code      int
		sig       syscall.Signal
	}{
		{"input closed", "echo ready; read x; exit 3", true, time.Minute, 3, 0},
		{"terminated", "echo ready; exec sleep 60", false, time.Minute, -1, syscall.SIGTERM},
		{"killed", "trap '' TERM; echo ready; while :; do sleep 0.05; done", false, 200 * time.Millisecond, -1, syscall.SIGKILL},
		{"killed at once", "echo ready; exec sleep 60", false, 0, -1, syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tc.script)
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			Configure(cmd)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// wait until the shell has set its trap: it says so
			if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { cmd.Wait(); close(exited) }()
			var input = in
			if !tc.closeIn {
				defer in.Close()
				input = nil
			}
			done := make(chan struct{})
			go func() {
				if input != nil {
					Stop(cmd.Process, exited, input, time.Minute, tc.termGrace)
				} else {
					Stop(cmd.Process, exited, nil, 0, tc.termGrace)
				}
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatal("Stop did not return within a minute")
			}
			if code, sig := ExitStatus(cmd.ProcessState); code != tc.code || sig != tc.sig {
				t.Errorf("ExitStatus = %d, %v; want %d, %v", code, sig, tc.code, tc.sig)
			}
		})
	}
	if code, sig := ExitStatus(nil); code != -1 || sig != 0 {
		t.Errorf("ExitStatus(nil) = %d, %v", code, sig)
	}
}
