// Package shm maps named shared-memory segments (files in /dev/shm on
// Linux, in the temporary directory elsewhere), mode 0600, and cleans up
// after a process tree: every segment made in the tree is listed in the
// tree's registry, and a tracker process unlinks what is listed once the
// tree's root process has ended, however it ended.
package shm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Segment is one mapped segment.
type Segment struct {
	Name string
	Data []byte
	f    *os.File
}

// ErrExist is returned by Create for a name in use.
var ErrExist = os.ErrExist

// Dir is where segments live: /dev/shm when it exists (memory, as
// shm_open), else the temporary directory.
func Dir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

func path(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return "", fmt.Errorf("shared memory name %q: want a plain name, without '/'", name)
	}
	return filepath.Join(Dir(), name), nil
}

// Create makes a segment of size bytes, zeroed, readable and writable by
// this user only.
func Create(name string, size int) (*Segment, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shared memory %q: size %d must be positive", name, size)
	}
	p, err := path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating shared memory %q: %w", name, err)
	}
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		os.Remove(p)
		return nil, fmt.Errorf("sizing shared memory %q: %w", name, err)
	}
	s, err := mapFile(name, f, size)
	if err != nil {
		os.Remove(p)
		return nil, err
	}
	return s, nil
}

// Open maps an existing segment.
func Open(name string) (*Segment, error) {
	p, err := path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening shared memory %q: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.Size() == 0 {
		f.Close()
		return nil, fmt.Errorf("opening shared memory %q: it is empty", name)
	}
	return mapFile(name, f, int(st.Size()))
}

// Close unmaps the segment; the name stays until Unlink.
func (s *Segment) Close() error {
	if s.f == nil {
		return nil
	}
	err := unmap(s.Data)
	s.Data = nil
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}

// Unlink removes the name: processes that have it mapped keep it until
// they close it; no one can open it any more.
func Unlink(name string) error {
	p, err := path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unlinking shared memory %q: %w", name, err)
	}
	return nil
}
