package procpool

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// Spares are worker processes started before a pool asks for them
// (mp.Prestart): each has run the program's start and package
// initialization up to mp.Main, said Hello and waits for the Setup of the
// pool that takes it, so that a pool's worker is ready in a Setup's round
// trip instead of a process start. Spares keeps as many as it is asked
// to, counting those taken: each one taken is replaced once the worker it
// became has ended (its pool closed, it was replaced, it died), so that
// starting spares does not compete with the work of the pool that took
// them. A pool that finds none ready but some starting waits for those
// rather than starting others. The zero value keeps none; a nil *Spares
// is one that keeps none.
type Spares struct {
	mu       sync.Mutex
	changed  chan struct{} // see changesLocked
	want     int
	spec     Spec
	ready    []*Proc // oldest first
	starting int     // processes being started
	out      int     // spares taken whose workers have not ended
	waiting  int     // Takes waiting for a spare being started
	failed   error   // why starting failed: no more until Keep
	kills    int     // spares killed while they started, in a row
}

// Keep keeps n spares started with sp from now on (sp's ID is ignored)
// and waits until n are ready or taken, a start fails (its error: no
// more are started until Keep is called again) or ctx ends (its cause;
// they go on starting). Keep(ctx, 0, ...) ends the spares, those being
// started too, and returns once their processes have exited (workers
// that were spares end with their pools). A later Keep with another n
// ends the wait of an earlier one.
func (s *Spares) Keep(ctx context.Context, n int, sp Spec) error {
	s.mu.Lock()
	var extra []*Proc
	if !sp.sameProcess(s.spec) {
		extra, s.ready = s.ready, nil
	}
	s.ready = slices.DeleteFunc(s.ready, func(pw *Proc) bool { // killed while they waited
		select {
		case <-pw.Exited():
			extra = append(extra, pw)
			return true
		default:
			return false
		}
	})
	if len(s.ready) > n {
		extra = append(extra, s.ready[n:]...)
		s.ready = slices.Clone(s.ready[:n])
	}
	s.want, s.spec, s.failed, s.kills = n, sp, nil, 0
	s.fillLocked()
	s.mu.Unlock()
	for _, pw := range extra {
		pw.Close()
	}
	for {
		s.mu.Lock()
		// another Keep since this one changed the number: it waits
		done := len(s.ready)+s.out >= n && (n > 0 || s.starting == 0) || s.want != n
		failed, changed := s.failed, s.changesLocked()
		s.mu.Unlock()
		switch {
		case done:
			return nil
		case failed != nil && n > 0:
			return failed
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// Take returns a spare started as sp would start one, waiting while
// ctx lasts for one being started if none is ready; or nil if there is
// none to wait for (the caller starts a worker itself).
func (s *Spares) Take(ctx context.Context, sp Spec) *Proc {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.want > 0 && sp.sameProcess(s.spec) {
		for len(s.ready) > 0 {
			pw := s.ready[0]
			s.ready = slices.Delete(s.ready, 0, 1)
			select {
			case <-pw.Exited(): // killed while it waited
				go pw.Close()
				s.fillLocked()
				continue
			default:
			}
			pw.from = s
			s.out++
			return pw
		}
		if s.starting <= s.waiting || s.failed != nil {
			return nil
		}
		s.waiting++
		changed := s.changesLocked()
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
		}
		s.mu.Lock()
		s.waiting--
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

// returned says that a worker that was a spare has ended: another is
// started in its place.
func (s *Spares) returned() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out--
	s.notifyLocked()
	s.fillLocked()
}

// State returns the pids of the spares ready now, how many are being
// started and how many taken are still workers (for tests).
func (s *Spares) State() (ready []int, starting, taken int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pw := range s.ready {
		ready = append(ready, pw.pid)
	}
	return ready, s.starting, s.out
}

// fillLocked starts as many spares as are missing, each from its own
// goroutine.
func (s *Spares) fillLocked() {
	for s.failed == nil && len(s.ready)+s.starting+s.out < s.want {
		s.starting++
		go s.start(s.spec)
	}
}

// start starts one spare and keeps it if it is still wanted.
func (s *Spares) start(sp Spec) {
	pw, err := Spawn(sp)
	s.mu.Lock()
	var se *StartError
	switch {
	case err == nil:
		s.kills = 0
		if len(s.ready)+s.out < s.want && sp.sameProcess(s.spec) {
			s.ready, pw = append(s.ready, pw), nil
		}
	case errors.As(err, &se) && se.Retry && s.kills+1 < maxStarts:
		// killed while it started (as a pool's worker would be
		// started again): another takes its place
		s.kills++
	default:
		s.failed = err
	}
	if pw != nil { // no longer wanted: it counts as starting until it is gone
		s.mu.Unlock()
		pw.Close()
		s.mu.Lock()
	}
	s.starting-- // with the append: never counted twice, ready and starting
	s.notifyLocked()
	s.fillLocked()
	s.mu.Unlock()
}

// sameProcess reports whether a worker started with o is one that sp
// would start: the same program, environment and output.
func (sp Spec) sameProcess(o Spec) bool {
	return sp.Noun == o.Noun && sp.Tagged == o.Tagged && slices.Equal(sp.Env, o.Env)
}

// setID gives a spare its number in the pool that took it.
func (pw *Proc) setID(id int) {
	pw.id = id
	for _, t := range pw.tags {
		t.setID(id)
	}
}

// changesLocked returns a channel closed at the next change of ready,
// starting or failed.
func (s *Spares) changesLocked() <-chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// notifyLocked wakes those waiting for a change.
func (s *Spares) notifyLocked() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}
