// Package checkpoint keeps the finished results of a pool call on local
// disk as they arrive, so that running the program again after a crash
// reuses them and runs only what is missing (mp.Checkpoint).
//
// A store is one append-only file of records:
//
//	length uint32 | crc32c uint32 | key [32]byte | value [length-32]byte
//
// (little endian; the CRC covers key and value). A record is written with
// one write(2), so a program killed at any point (SIGKILL) loses at most
// the record being written, and what the kernel holds survives the
// program. The file is synced at most every SyncEvery and when the store
// closes, so a power loss loses at most that much: those results are
// computed again. Opening reads the file once, stops at the first record
// that is cut short or fails its CRC (a torn write), and cuts the file
// there. An advisory lock (flock) keeps two programs from writing one
// store at once.
package checkpoint

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SyncEvery is how often a store with new records is synced to disk.
const SyncEvery = 100 * time.Millisecond

// MaxValue is the largest value a record holds (a corrupt length must
// not make Open allocate without bound).
const MaxValue = 1 << 30

const headerSize = 8 + 32

// castagnoli is the CRC table of the records, made when a store first
// needs it: making it took 0.18 ms of every mp program's start, worker
// processes included, which mostly never open a store.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// ErrLocked says that another process is writing the store.
var ErrLocked = errors.New("checkpoint: in use by another process")

// Key identifies one stored result.
type Key = [32]byte

type loc struct{ off, n int64 }

// Store is an open checkpoint file. Its methods are safe for concurrent
// use.
type Store struct {
	path string
	mu   sync.Mutex
	f    *os.File
	end  int64
	idx  map[Key]loc
	buf  []byte
	err  error // the first write error: later Puts return it

	dirty  bool
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
	cerr   error
}

// Open opens (or creates) the store at path, making its directory if
// needed.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s (%v)", ErrLocked, path, err)
	}
	s := &Store{path: path, f: f, idx: map[Key]loc{}, stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.load(); err != nil {
		f.Close()
		return nil, err
	}
	go s.syncer()
	return s, nil
}

// load indexes the records and cuts a torn tail.
func (s *Store) load() error {
	r := bufio.NewReaderSize(s.f, 1<<16)
	var hdr [headerSize]byte
	var off int64
	var val []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			break // the end, or a torn header
		}
		n := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		if n < 32 || n-32 > MaxValue {
			break
		}
		vn := n - 32
		if int64(cap(val)) < vn {
			val = make([]byte, vn)
		}
		val = val[:vn]
		if _, err := io.ReadFull(r, val); err != nil {
			break
		}
		crc := castagnoli()
		sum := crc32.Update(crc32.Checksum(hdr[8:], crc), crc, val)
		if sum != binary.LittleEndian.Uint32(hdr[4:8]) {
			break
		}
		var k Key
		copy(k[:], hdr[8:])
		s.idx[k] = loc{off + headerSize, vn}
		off += headerSize + vn
	}
	if err := s.f.Truncate(off); err != nil {
		return fmt.Errorf("checkpoint: cutting a torn record off %s: %w", s.path, err)
	}
	s.end = off
	return nil
}

// Len returns the number of stored results.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.idx)
}

// Get returns the value stored under k.
func (s *Store) Get(k Key) ([]byte, bool, error) {
	s.mu.Lock()
	l, ok := s.idx[k]
	s.mu.Unlock()
	if !ok {
		return nil, false, nil
	}
	v := make([]byte, l.n)
	if _, err := s.f.ReadAt(v, l.off); err != nil {
		return nil, false, fmt.Errorf("checkpoint: reading %s: %w", s.path, err)
	}
	return v, true, nil
}

// Put stores v under k (a key stored already keeps its first value).
func (s *Store) Put(k Key, v []byte) error {
	if len(v) > MaxValue {
		return fmt.Errorf("checkpoint: a result of %d bytes is over the limit of %d", len(v), MaxValue)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if _, ok := s.idx[k]; ok {
		return nil
	}
	n := headerSize + len(v)
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	binary.LittleEndian.PutUint32(b[0:4], uint32(32+len(v)))
	copy(b[8:], k[:])
	copy(b[headerSize:], v)
	binary.LittleEndian.PutUint32(b[4:8], crc32.Checksum(b[8:], castagnoli()))
	if _, err := s.f.WriteAt(b, s.end); err != nil {
		s.err = fmt.Errorf("checkpoint: writing %s: %w", s.path, err)
		return s.err
	}
	s.idx[k] = loc{s.end + headerSize, int64(len(v))}
	s.end += int64(n)
	s.dirty = true
	return nil
}

// syncer syncs new records every SyncEvery.
func (s *Store) syncer() {
	defer close(s.done)
	t := time.NewTicker(SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sync()
		}
	}
}

// Sync makes the stored records durable.
func (s *Store) Sync() error {
	s.mu.Lock()
	dirty := s.dirty
	s.dirty = false
	s.mu.Unlock()
	if !dirty {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("checkpoint: syncing %s: %w", s.path, err)
	}
	return nil
}

// Close syncs the store and releases it; closing it again returns what
// the first Close did.
func (s *Store) Close() error {
	s.closed.Do(func() {
		close(s.stop)
		<-s.done
		err := s.Sync()
		unlock(s.f)
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err == nil && s.err != nil {
			err = s.err
		}
		s.cerr = err
	})
	return s.cerr
}
