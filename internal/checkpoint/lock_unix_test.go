//go:build unix

package checkpoint

import (
	"path/filepath"
	"syscall"
	"testing"
)

// A store closed while a copy of its descriptor lives on (a worker
// process forked meanwhile, not yet exec'd) opens again at once: Close
// lets the lock go itself. Without it, TestCheckpoint/Processes(2) failed
// under load with "in use by another process", the process being its own
// worker in the middle of a fork.
func TestStoreReopensWhileACopyOfItsDescriptorLives(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.mpcp")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	dup, err := syscall.Dup(int(s.f.Fd())) // what a forked child holds
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dup)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("Open after Close, with a copy of the old descriptor open: %v", err)
	}
	s2.Close()
}
