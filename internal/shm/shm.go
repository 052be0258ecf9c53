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
	"syscall"
)

// noSpace is the error of a segment that does not fit: how much was
// wanted, how much is left, and what to do.
func noSpace(name string, size int, avail, total uint64, cause error) error {
	err := fmt.Errorf("%w: %s more of shared memory %q do not fit in %s: %s free of %s (a container's /dev/shm is 64 MiB unless run with --shm-size, e.g. docker run --shm-size=1g; or set %s to a bigger tmpfs; or ask for less, e.g. a smaller mp.QueueCapacity)",
		ErrNoSpace, bytesText(uint64(size)), name, Dir(), bytesText(avail), bytesText(total), DirEnv)
	if cause != nil {
		err = fmt.Errorf("%w (%v)", err, cause)
	}
	return err
}

// bytesText writes n in the largest binary unit it fills.
func bytesText(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Segment is one mapped segment.
type Segment struct {
	Name string
	Data []byte
	f    *os.File
}

// ErrExist is returned by Create for a name in use.
var ErrExist = os.ErrExist

// DirEnv names the directory for segments in place of /dev/shm (a bigger
// tmpfs when a container's /dev/shm is small). Every process that shares
// segments must see the same value; children inherit it.
const DirEnv = "MP_SHM_DIR"

// ErrNoSpace says that a segment does not fit in the shared memory left.
var ErrNoSpace = errors.New("mp: not enough shared memory")

// Dir is where segments live: $MP_SHM_DIR if set, /dev/shm when it
// exists (memory, as shm_open), else the temporary directory.
func Dir() string {
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
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
// this user only, backed by memory at once: a segment that does not fit
// is an error wrapping ErrNoSpace here, not a SIGBUS when it is used.
func Create(name string, size int) (*Segment, error) { return create(name, size, size) }

// CreateLazy makes a segment of size bytes of which only the first now
// are backed by memory at once; Reserve backs more before it is used (a
// queue's ring, used as items are put).
func CreateLazy(name string, size, now int) (*Segment, error) {
	return create(name, size, min(max(now, 1), size))
}

func create(name string, size, now int) (*Segment, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shared memory %q: size %d must be positive", name, size)
	}
	p, err := path(name)
	if err != nil {
		return nil, err
	}
	if avail, total, ok := free(Dir()); ok && uint64(now) > avail {
		return nil, noSpace(name, now, avail, total, nil)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating shared memory %q: %w", name, err)
	}
	err = f.Truncate(int64(size))
	if err == nil {
		err = allocate(f, 0, now)
	}
	if err != nil {
		f.Close()
		os.Remove(p)
		if errors.Is(err, syscall.ENOSPC) {
			avail, total, _ := free(Dir())
			return nil, noSpace(name, now, avail, total, err)
		}
		return nil, fmt.Errorf("sizing shared memory %q: %w", name, err)
	}
	s, err := mapFile(name, f, size)
	if err != nil {
		os.Remove(p)
		return nil, err
	}
	return s, nil
}

// Reserve backs bytes [off, off+n) of the segment with memory, or returns
// an error wrapping ErrNoSpace that says how much is left.
func (s *Segment) Reserve(off, n int) error {
	if n <= 0 {
		return nil
	}
	if err := allocate(s.f, off, n); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			avail, total, _ := free(Dir())
			return noSpace(s.Name, n, avail, total, err)
		}
		return fmt.Errorf("shared memory %q: %w", s.Name, err)
	}
	return nil
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

// File is the segment's open file, to pass to a child process (which
// maps it with MapFile), valid until Close.
func (s *Segment) File() *os.File { return s.f }

// MapFile maps the segment open as f (a file a parent passed, whose name
// may be unlinked already); name is for errors. The segment owns f.
func MapFile(f *os.File, name string) (*Segment, error) {
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("shared memory %q: %w", name, err)
	}
	if st.Size() == 0 || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("shared memory %q: not a segment", name)
	}
	return mapFile(name, f, int(st.Size()))
}
