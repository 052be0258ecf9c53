//go:build linux

package shm

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// SmallTmpfs mounts a tmpfs of size bytes on a temporary directory for the
// test (and unmounts it after), or skips the test where this process may
// not mount (not root).
func SmallTmpfs(t testing.TB, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("a small tmpfs is needed and this process cannot mount one (run the tests as root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// A segment that does not fit is an error naming the sizes and the fix,
// never a SIGBUS later (issue 15: Docker gives /dev/shm 64 MB).
func TestNoSpace(t *testing.T) {
	t.Setenv(DirEnv, SmallTmpfs(t, 1<<20))
	tests := []struct {
		name string
		make func() (*Segment, error)
	}{
		{"Create over the free space", func() (*Segment, error) { return Create("big", 2<<20) }},
		{"CreateLazy backing over the free space", func() (*Segment, error) { return CreateLazy("lazy", 8<<20, 2<<20) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.make()
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrNoSpace) {
				t.Fatalf("%v: does not wrap ErrNoSpace", err)
			}
			for _, want := range []string{"2.0 MiB", "free of 1.0 MiB", "--shm-size", DirEnv, "QueueCapacity"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the message does not say %q: %v", want, err)
				}
			}
			if entries, _ := os.ReadDir(Dir()); len(entries) != 0 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}

	// A lazy segment bigger than the tmpfs: what Reserve backs can be
	// used; backing past the space left is an error, and what was
	// written stays.
	s, err := CreateLazy("ring", 8<<20, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer Unlink("ring")
	defer s.Close()
	off := 64 << 10
	for ; ; off += 256 << 10 {
		if err := s.Reserve(off, 256<<10); err != nil {
			if !errors.Is(err, ErrNoSpace) {
				t.Fatalf("Reserve at %d: %v", off, err)
			}
			break
		}
		if off > 2<<20 {
			t.Fatalf("Reserve backed %d bytes of a 1 MiB tmpfs", off)
		}
		for i := off; i < off+256<<10; i += 4096 {
			s.Data[i] = byte(i >> 12) // would be a SIGBUS without backing
		}
	}
	for i := 64 << 10; i < off; i += 4096 {
		if s.Data[i] != byte(i>>12) {
			t.Fatalf("byte %d lost", i)
		}
	}
}
