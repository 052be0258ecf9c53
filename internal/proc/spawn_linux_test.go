//go:build linux

package proc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// Spawn starts what cmd.Start would (arguments, environment, directory,
// standard streams, own process group), and Wait says how it ended.
func TestSpawn(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tc := range []struct {
		name, script string
		code         int
		sig          syscall.Signal
		out          string
	}{
		{"exit 0", `echo "$0 $1 $X $(pwd)"; read line; echo "$line" >&2`, 0, 0, "zero one x=1 /\n"},
		{"exit 3", "exit 3", 3, 0, ""},
		{"killed", "kill -9 $$", -1, syscall.SIGKILL, ""},
		{"own group", `[ "$(cut -d' ' -f5 /proc/$$/stat)" = "$$" ] && echo leads`, 0, 0, "leads\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, out, errf := tempFile(t, "in\n"), tempFile(t, ""), tempFile(t, "")
			cmd := &exec.Cmd{Path: sh, Args: []string{"sh", "-c", tc.script, "zero", "one"}, Dir: "/", Env: []string{"X=x=1", "PATH=" + os.Getenv("PATH")}, Stdin: in, Stdout: out, Stderr: errf}
			Configure(cmd)
			c, err := Spawn(cmd)
			if err != nil {
				t.Fatal(err)
			}
			ws, err := c.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if code, sig := WaitStatusExit(ws); code != tc.code || sig != tc.sig {
				t.Errorf("ended with %d, signal %v; want %d, %v", code, sig, tc.code, tc.sig)
			}
			if got := readAll(t, out); got != tc.out {
				t.Errorf("stdout %q, want %q", got, tc.out)
			}
			if tc.name == "exit 0" {
				if got := readAll(t, errf); got != "in\n" {
					t.Errorf("stderr %q, want the line read on stdin", got)
				}
			}
			if cmd.Process != nil {
				t.Error("cmd.Process set: cmd.Wait would wait again")
			}
		})
	}
}

// Spawn leaves to os/exec what it does not do, and says why it could
// not start a program as os.StartProcess does.
func TestSpawnRefusesOrFails(t *testing.T) {
	f := tempFile(t, "")
	for _, tc := range []struct {
		name string
		cmd  *exec.Cmd
	}{
		{"a reader for stdin", &exec.Cmd{Path: "/bin/true", Env: []string{}, Stdin: strings.NewReader(""), Stdout: f, Stderr: f}},
		{"a writer for stdout", &exec.Cmd{Path: "/bin/true", Env: []string{}, Stdin: f, Stdout: new(bytes.Buffer), Stderr: f}},
		{"no env", &exec.Cmd{Path: "/bin/true", Stdin: f, Stdout: f, Stderr: f}},
		{"extra files", &exec.Cmd{Path: "/bin/true", Env: []string{}, Stdin: f, Stdout: f, Stderr: f, ExtraFiles: []*os.File{f}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			Configure(tc.cmd)
			if _, err := Spawn(tc.cmd); !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("Spawn: %v, want errors.ErrUnsupported", err)
			}
		})
	}
	cmd := &exec.Cmd{Path: "/nonexistent/prog", Args: []string{"prog"}, Env: []string{}, Stdin: f, Stdout: f, Stderr: f}
	Configure(cmd)
	_, err := Spawn(cmd)
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != "fork/exec" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Spawn of a missing program: %v, want fork/exec /nonexistent/prog: no such file or directory", err)
	}
}

func tempFile(t *testing.T, content string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "spawn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return f
}

func readAll(t *testing.T, f *os.File) string {
	t.Helper()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
