package mp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/checkpoint"
	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/progress"
)

// Checkpoint makes a Map or Starmap call (and MapAsync, StarmapAsync)
// keep each result on local disk, in dir, as it arrives, so that running
// the program again after a crash (a SIGKILL, a power cut, an OOM kill)
// returns the stored results and runs only the items that were missing:
//
//	out, err := mp.Map(ctx, pool, fit, inputs, mp.Checkpoint("fit.checkpoint"))
//
// A stored result is reused when the call runs the same registered
// function (by its mp.Register name, with the same argument and result
// types) on an item that encodes to the same bytes (equal values; a map
// whatever its order): the key is the SHA-256 of the function's name, its
// types and the item. Its position in the input does not matter, so
// items may be added, removed or reordered between runs; equal items get
// the one stored result. Failed items are not stored: they run again.
// Change what the function computes and the stored results are stale:
// delete dir (or its file for that function) or use a new one.
//
// Results are written as each chunk of items finishes (with Checkpoint
// the automatic chunk size is at most 16 items) and synced to disk every
// 100 ms and when the call ends, so a crash costs at most the chunks
// running then, and a power cut also what was not yet synced. The store
// is one append-only file per function in dir, each record checked by a
// CRC; a record cut short by a crash is dropped on the next run. Two
// programs cannot use one checkpoint at once (the second call fails).
//
// The function must be made with Register (its name is the key), and
// results must be encodable, as for a process pool; a result that cannot
// be encoded is returned but not stored (the pool's Logger says so).
// Checkpoint is a call option; Imap, ImapUnordered, Apply and Submit
// refuse it.
func Checkpoint(dir string) Option {
	return callOption(func(s *settings) error {
		if dir == "" {
			return fmt.Errorf("%w: Checkpoint(\"\"): name the directory that keeps the results", ErrInvalidOption)
		}
		s.checkpoint = dir
		return nil
	})
}

// noCheckpoint refuses Checkpoint for the calls that do not keep results.
func (s *settings) noCheckpoint(calls string) error {
	if s.checkpoint != "" {
		return fmt.Errorf("%w: Checkpoint is for Map and Starmap (and their Async forms), not %s", ErrInvalidOption, calls)
	}
	return nil
}

// checkpointChunk caps the automatic chunk size of a checkpointed call:
// a crash loses the chunks that are running.
const checkpointChunk = 16

// startMapCheckpointed starts a Map call with Checkpoint: the items with a
// stored result take it, the others run as a Map of their own whose
// chunks store their results as they finish.
func startMapCheckpointed[A, R any](ctx context.Context, p *Pool, f Func[A, R], items []A, s *settings) (wait func() ([]R, error), err error) {
	if f.name == "" {
		return nil, fmt.Errorf("%w: Checkpoint needs a function made with mp.Register: its name tells which stored results are its own", ErrInvalidOption)
	}
	domain := f.name + "\x00" + reflect.TypeFor[A]().String() + "\x00" + reflect.TypeFor[R]().String()
	path := filepath.Join(s.checkpoint, checkpointFile(f.name, domain))
	st, err := acquireStore(path)
	if err != nil {
		return nil, fmt.Errorf("mp: Checkpoint: %w", err)
	}
	out := make([]R, len(items))
	keys := make([][32]byte, len(items))
	var missing []int
	for i := range items {
		k, err := wire.Key(domain, items[i])
		if err != nil {
			releaseStore(path)
			return nil, fmt.Errorf("mp: Checkpoint: item %d: %w", i, err)
		}
		keys[i] = k
		v, ok, err := st.Get(k)
		if err != nil {
			releaseStore(path)
			return nil, fmt.Errorf("mp: Checkpoint: %w", err)
		}
		if ok && wire.Unmarshal(v, &out[i]) == nil {
			continue
		}
		missing = append(missing, i) // not stored, or no longer decodes as an R
	}

	sub := make([]A, len(missing))
	for j, i := range missing {
		sub[j] = items[i]
	}
	s2 := *s
	s2.checkpoint = ""
	if s2.chunksize == 0 && len(sub) > 0 {
		s2.chunksize = min(autoChunksize(len(sub), p.spread()), checkpointChunk)
	}
	// the bar counts every item; the stored ones are done already
	var bar *progress.Bar
	switch {
	case s.bar != nil:
		s.bar.Add(len(items) - len(sub))
	case s.progressDesc != nil:
		b := newBar(s, int64(len(items)))
		b.Add(len(items) - len(sub))
		s2.bar, s2.progressDesc, bar = b, nil, b
	}
	// The store is released once the call has returned and every chunk
	// has stored its results: a chunk still running when the call
	// returns (after a failure, or its context's end) stores them later.
	nchunks := 0
	if len(sub) > 0 {
		nchunks = (len(sub) + s2.chunksize - 1) / s2.chunksize
	}
	var refs atomic.Int64
	refs.Store(int64(nchunks) + 1)
	allSaved := make(chan struct{})
	unref := func() {
		switch refs.Add(-1) {
		case 1:
			close(allSaved) // the call's own reference is the last
		case 0:
			releaseStore(path)
		}
	}
	var warn sync.Once
	saved := func(k *chunk[A, R]) {
		defer unref()
		for i := range k.ran {
			if k.errs != nil && k.errs[i] != nil {
				continue
			}
			b, err := wire.Marshal(k.out[i])
			if err == nil {
				err = st.Put(keys[missing[k.base+i]], b)
			}
			if err != nil {
				warn.Do(func() {
					p.log.Warn("mp: Checkpoint: a result is not kept", slog.String("dir", s.checkpoint), slog.Int("item", missing[k.base+i]), slog.Any("error", err))
				})
			}
		}
	}
	finish := func() {
		if bar != nil {
			bar.Close()
		}
		unref()
	}
	subWait, err := startChunks(ctx, p, f, sub, &s2, saved)
	if err != nil { // no chunk was queued: none will store
		if bar != nil {
			bar.Close()
		}
		releaseStore(path)
		return nil, err
	}
	return func() ([]R, error) {
		res, err := subWait()
		if nchunks > 0 {
			// the chunks still running stop at their next item: wait a
			// little for them to store what they finished
			t := time.NewTimer(checkpointSettle)
			select {
			case <-allSaved:
			case <-t.C:
			}
			t.Stop()
		}
		finish()
		for j, r := range res {
			out[missing[j]] = r
		}
		if err == nil {
			return out, nil
		}
		if res == nil {
			return nil, err // the call's context ended
		}
		renumber(err, missing)
		var te *TaskError
		if !s.partial && errors.As(err, &te) {
			return out[:te.Index:te.Index], err // every result before the first failure
		}
		return out, err
	}, nil
}

// checkpointSettle bounds how long a call that ends early waits for its
// running chunks to store their results before it returns.
const checkpointSettle = 5 * time.Second

// openStores are the checkpoint stores open in this process, by path:
// calls of one program share a store (its lock keeps out other programs).
var openStores = struct {
	sync.Mutex
	m map[string]*sharedStore
}{m: map[string]*sharedStore{}}

type sharedStore struct {
	st    *checkpoint.Store
	users int
}

// acquireStore opens the store at path, or shares the one open.
func acquireStore(path string) (*checkpoint.Store, error) {
	openStores.Lock()
	defer openStores.Unlock()
	if s := openStores.m[path]; s != nil {
		s.users++
		return s.st, nil
	}
	st, err := checkpoint.Open(path)
	if err != nil {
		return nil, err
	}
	openStores.m[path] = &sharedStore{st: st, users: 1}
	return st, nil
}

// releaseStore closes the store at path when its last user lets it go.
func releaseStore(path string) {
	openStores.Lock()
	defer openStores.Unlock()
	s := openStores.m[path]
	if s == nil {
		return
	}
	if s.users--; s.users == 0 {
		delete(openStores.m, path)
		s.st.Close()
	}
}

// renumber gives the *TaskErrors in err (one, or joined) the index of
// their item in the caller's input rather than in the call of the items
// that were missing.
func renumber(err error, missing []int) {
	seen := map[*TaskError]bool{}
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *TaskError:
			if !seen[e] && e.Index >= 0 && e.Index < len(missing) {
				seen[e] = true
				e.Index = missing[e.Index]
			}
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
}

// checkpointFile is the file that keeps a function's results: its name
// (made safe for a file name) and a hash of its name and types.
func checkpointFile(name, domain string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
	k, _ := wire.Key("mp checkpoint file", domain)
	return fmt.Sprintf("%s-%x.mpcp", safe, k[:4])
}
