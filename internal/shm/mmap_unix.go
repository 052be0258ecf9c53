//go:build unix

package shm

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func mapFile(name string, f *os.File, size int) (*Segment, error) {
	data, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("mapping shared memory %q: %w", name, err)
	}
	return &Segment{Name: name, Data: data, f: f}, nil
}

func unmap(b []byte) error { return unix.Munmap(b) }
