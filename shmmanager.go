package mp

import (
	"errors"
	"sync"
)

// SharedMemoryManager makes SharedMemory segments and ShareableLists and
// unlinks them all on Shutdown (Python's
// multiprocessing.managers.SharedMemoryManager, used as a context
// manager: `defer smm.Shutdown()`). Its zero value is ready to use, and
// it is safe for concurrent use.
//
// Python's runs a server process that tracks the segments; mp's tracks
// them in the process that made them, since every segment of a program
// is also unlinked when the program ends, however it ends (see
// SharedMemory).
type SharedMemoryManager struct {
	mu     sync.Mutex
	made   []interface{ Unlink() error }
	closed bool
}

// ErrManagerShutdown is the error of a SharedMemoryManager's methods
// after Shutdown.
var ErrManagerShutdown = errors.New("mp: SharedMemoryManager is shut down")

// NewSharedMemoryManager returns a manager (Python's
// SharedMemoryManager().start()); the zero value works too.
func NewSharedMemoryManager() *SharedMemoryManager { return new(SharedMemoryManager) }

func (s *SharedMemoryManager) keep(o interface{ Unlink() error }) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		o.Unlink()
		return ErrManagerShutdown
	}
	s.made = append(s.made, o)
	return nil
}

// SharedMemory makes a segment of size bytes that Shutdown unlinks
// (Python's smm.SharedMemory(size)).
func (s *SharedMemoryManager) SharedMemory(size int) (*SharedMemory, error) {
	if s.isClosed() {
		return nil, ErrManagerShutdown
	}
	m, err := CreateSharedMemory("", size)
	if err != nil {
		return nil, err
	}
	return m, s.keep(m)
}

// ShareableList makes a list holding values that Shutdown unlinks
// (Python's smm.ShareableList(sequence)).
func (s *SharedMemoryManager) ShareableList(values []any) (*ShareableList, error) {
	if s.isClosed() {
		return nil, ErrManagerShutdown
	}
	l, err := NewShareableList(values)
	if err != nil {
		return nil, err
	}
	return l, s.keep(l)
}

func (s *SharedMemoryManager) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Shutdown unlinks every segment the manager made (Python's shutdown);
// processes that map them keep their mappings until they unmap them.
// Later calls do nothing.
func (s *SharedMemoryManager) Shutdown() error {
	s.mu.Lock()
	made := s.made
	s.made, s.closed = nil, true
	s.mu.Unlock()
	var err error
	for _, o := range made {
		err = errors.Join(err, o.Unlink())
	}
	return err
}
