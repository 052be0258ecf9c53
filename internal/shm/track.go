package shm

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mp-go/mp/internal/proc"
)

// A process tree's segments are listed, one name a line, in
// Dir()/mp-TREE.segments (appends of a line are atomic), and
// Dir()/mp-TREE.tracker marks that its tracker runs. TREE is the root
// process's pid and start time, so that a reused pid is another tree.

func registry(tree string) string { return filepath.Join(Dir(), "mp-"+tree+".segments") }
func lockFile(tree string) string { return filepath.Join(Dir(), "mp-"+tree+".tracker") }

// Register lists name among tree's segments.
func Register(tree, name string) error {
	f, err := os.OpenFile(registry(tree), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("registering shared memory %q for clean-up: %w", name, err)
	}
	_, err = f.WriteString(name + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Cleanup unlinks every segment tree listed, and the list.
func Cleanup(tree string) {
	if f, err := os.Open(registry(tree)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			Unlink(sc.Text()) // may be gone already: explicit Unlink
		}
		f.Close()
	}
	os.Remove(registry(tree))
	os.Remove(lockFile(tree))
}

// EnsureTracker starts tree's tracker unless it runs: exe is this program
// and env the environment that makes it run TrackerMain. The tracker is
// started through a launcher that exits at once, so that it is nobody's
// child and outlives the tree, which is its job.
func EnsureTracker(tree string, exe string, env []string) error {
	f, err := os.OpenFile(lockFile(tree), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil // started by this tree already
	}
	if err != nil {
		return fmt.Errorf("starting the shared memory tracker: %w", err)
	}
	f.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(env, "MP_SHM_TRACKER=launch:"+tree)
	if err := cmd.Run(); err != nil {
		os.Remove(lockFile(tree))
		return fmt.Errorf("starting the shared memory tracker: %w", err)
	}
	return nil
}

// TrackerMain is the tracker's program, given MP_SHM_TRACKER's value:
// "launch:TREE" starts "track:TREE" in a session of its own and returns;
// "track:TREE" waits for the tree's root to end, cleans up, and returns.
func TrackerMain(mode string, exe string, env []string) int {
	what, tree, _ := strings.Cut(mode, ":")
	switch what {
	case "launch":
		cmd := exec.Command(exe)
		cmd.Env = append(env, "MP_SHM_TRACKER=track:"+tree)
		detach(cmd)
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "mp: starting the shared memory tracker:", err)
			return 1
		}
		return 0
	case "track":
		pid, err := strconv.Atoi(strings.SplitN(tree, "-", 2)[0])
		if err != nil {
			return 2
		}
		for Alive(tree) {
			waitExit(pid, time.Second)
		}
		Cleanup(tree)
		return 0
	}
	return 2
}

// Tree returns the identity of the tree rooted at this process.
func Tree() string {
	pid := os.Getpid()
	if st := startTime(pid); st != "" {
		return strconv.Itoa(pid) + "-" + st
	}
	return strconv.Itoa(pid)
}

// Alive reports whether tree's root still runs.
func Alive(tree string) bool {
	pidS, st, _ := strings.Cut(tree, "-")
	pid, err := strconv.Atoi(pidS)
	if err != nil || !proc.Alive(pid) {
		return false
	}
	return st == "" || startTime(pid) == st
}

// Sweep cleans up after the trees that ended without their tracker
// (programs that do not call mp.Main): their listed segments.
func Sweep() {
	lists, _ := filepath.Glob(filepath.Join(Dir(), "mp-*.segments"))
	for _, l := range lists {
		tree := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(l), "mp-"), ".segments")
		if !Alive(tree) {
			Cleanup(tree)
		}
	}
}
