package natskv

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/registered"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The synchronisation objects on NATS: Lock, RLock, semaphores, Event,
// Condition, Barrier.

func (c *Conn) lock(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	k := p + "held"
	switch ops.LockOp(call.Op) {
	case ops.LockAcquire:
		var ownerDead bool
		try := func() (bool, error) {
			ok, dead, err := c.takeLock(ctx, k)
			rep.OK, ownerDead = ok, dead
			return ok, err
		}
		var err error
		if !call.Flag {
			_, err = try()
		} else {
			err = c.watchUntil(ctx, k, try)
		}
		if err == nil && ownerDead {
			return ops.Errorf(ops.CodeOwnerDead, "manager: the Lock's holder ended holding it")
		}
		return err
	case ops.LockRelease:
		v, rev, err := c.get(ctx, k)
		if err != nil {
			return err
		}
		if v == nil {
			return ops.Errorf(ops.CodeNotOwner, "manager: release of an unlocked Lock")
		}
		return c.kv.Delete(ctx, k, jetstream.LastRevision(rev))
	case ops.LockLocked:
		v, _, err := c.get(ctx, k)
		rep.OK = v != nil
		return err
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: a lock has no operation %q here", call.Op)
}

// takeLock takes the lock entry k for this connection if it is free, or
// if the connection holding it is gone (ownerDead): every connection
// answers on mp.alive.<id>, and NATS says at once when nobody listens
// there any more.
func (c *Conn) takeLock(ctx context.Context, k string) (ok, ownerDead bool, err error) {
	if ok, err := c.cas(ctx, k, []byte(c.id), 0); err != nil || ok {
		return ok, false, err
	}
	holder, rev, err := c.get(ctx, k)
	if err != nil || holder == nil || !c.gone(string(holder)) {
		return false, false, err // free meanwhile, or held by a live process: wait
	}
	ok, err = c.cas(ctx, k, []byte(c.id), rev)
	return ok, ok, err
}

// gone reports whether the connection id is gone: nobody answers on its
// liveness subject (NATS says so at once).
func (c *Conn) gone(id string) bool {
	if id == "" {
		return false
	}
	_, err := c.nc.Request("mp.alive."+id, nil, 2*time.Second)
	return errors.Is(err, nats.ErrNoResponders)
}

func (c *Conn) event(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	k := p + "set"
	isSet := func() (bool, error) {
		v, _, err := c.get(ctx, k)
		return v != nil, err
	}
	switch ops.EventOp(call.Op) {
	case ops.EventSet:
		_, err := c.kv.Put(ctx, k, []byte("1"))
		return err
	case ops.EventClear:
		return c.kv.Delete(ctx, k)
	case ops.EventIsSet:
		var err error
		rep.OK, err = isSet()
		return err
	case ops.EventWait:
		err := c.watchUntil(ctx, k, isSet)
		rep.OK = err == nil
		return err
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: an event has no operation %q here", call.Op)
}

// semState is a semaphore's entry: its value, and its initial value (a
// BoundedSemaphore's bound).
type semState struct {
	N    int64 `cbor:"1,keyasint"`
	Init int64 `cbor:"2,keyasint"`
}

func (c *Conn) semaphore(ctx context.Context, p string, bounded bool, call *wire.Call, rep *wire.Reply) error {
	k := p + "sem"
	switch ops.SemaphoreOp(call.Op) {
	case ops.SemaphoreAcquire:
		try := func() (bool, error) {
			rep.OK = false
			_, err := changeEntry(ctx, c, k, func(st *semState) error {
				if st.N <= 0 {
					return errKeep
				}
				st.N--
				rep.OK = true
				return nil
			})
			return rep.OK && err == nil, err
		}
		if !call.Flag {
			_, err := try()
			return err
		}
		return c.watchUntil(ctx, k, try)
	case ops.SemaphoreRelease:
		inc := max(1, call.N)
		_, err := changeEntry(ctx, c, k, func(st *semState) error {
			if bounded && st.N+inc > st.Init {
				return ops.Errorf(ops.CodeBadArgs, "manager: BoundedSemaphore released too many times")
			}
			st.N += inc
			return nil
		})
		return err
	case ops.SemaphoreValue:
		st, _, err := readEntry[semState](ctx, c, k)
		if err == nil {
			rep.N = st.N
		}
		return err
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: a semaphore has no operation %q here", call.Op)
}

// rlockState is an RLock's entry: the hold (a context's) that has it,
// how many times, and its connection; a hold whose connection is gone is
// taken over with mp.ErrOwnerDead, as for Lock.
type rlockState struct {
	Hold  uint64 `cbor:"1,keyasint"`
	Depth int64  `cbor:"2,keyasint"`
	Conn  string `cbor:"3,keyasint,omitempty"`
}

func (c *Conn) rlock(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	k := p + "rlock"
	hold := uint64(call.N)
	switch ops.RLockOp(call.Op) {
	case ops.RLockAcquire:
		if hold == 0 {
			return ops.Errorf(ops.CodeBadArgs, "manager: an RLock hold of 0")
		}
		ownerDead := false
		try := func() (bool, error) {
			rep.OK, ownerDead = false, false
			st, err := changeEntry(ctx, c, k, func(st *rlockState) error {
				if st.Depth > 0 && st.Hold != hold {
					if !c.gone(st.Conn) {
						return errKeep // held: wait
					}
					st.Depth, ownerDead = 0, true // its holder's process is gone
				}
				st.Hold, st.Conn = hold, c.id
				st.Depth++
				rep.OK = true
				return nil
			})
			if err == nil && rep.OK {
				rep.N = st.Depth
			}
			return rep.OK && err == nil, err
		}
		var err error
		if !call.Flag {
			_, err = try()
		} else {
			err = c.watchUntil(ctx, k, try)
		}
		if err == nil && ownerDead {
			return ops.Errorf(ops.CodeOwnerDead, "manager: the RLock's holder ended holding it")
		}
		return err
	case ops.RLockRelease:
		st, err := changeEntry(ctx, c, k, func(st *rlockState) error {
			if st.Depth == 0 || st.Hold != hold {
				return ops.Errorf(ops.CodeNotOwner, "manager: release of an RLock not held by this context")
			}
			st.Depth--
			return nil
		})
		if err == nil {
			rep.N = st.Depth
		}
		return err
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: an RLock has no operation %q here", call.Op)
}

// barrierState is a Barrier's entry.
type barrierState struct {
	Parties  int    `cbor:"1,keyasint"`
	Count    int    `cbor:"2,keyasint"`
	Gen      uint64 `cbor:"3,keyasint"`
	Released uint64 `cbor:"4,keyasint"`
	Broken   bool   `cbor:"5,keyasint"`
	Action   string `cbor:"6,keyasint,omitempty"`
}

// barrier is a Barrier: a state entry changed by compare-and-set; the
// last party to arrive runs the action (in its own process) and releases
// the round; the others watch the entry.
func (c *Conn) barrier(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	broken := ops.Errorf(ops.CodeBroken, "manager: broken barrier")
	breakRound := func(st *barrierState) error {
		st.Broken, st.Count = true, 0
		st.Gen++
		return nil
	}
	switch ops.BarrierOp(call.Op) {
	case ops.BarrierWait:
		var idx int
		var gen uint64
		var last bool
		st, err := changeEntry(ctx, c, p+"barrier", func(st *barrierState) error {
			if st.Broken {
				return broken
			}
			idx, gen = st.Count, st.Gen
			last = st.Count+1 == st.Parties
			if last {
				st.Count = 0
				st.Gen++
				st.Released = st.Gen
			} else {
				st.Count++
			}
			return nil
		})
		if err != nil {
			return err
		}
		rep.N = int64(idx)
		if last {
			if st.Action != "" {
				if err := registered.BarrierAction(ctx, st.Action); err != nil {
					changeEntry(context.WithoutCancel(ctx), c, p+"barrier", breakRound)
					return ops.Errorf(ops.CodeBroken, "manager: broken barrier: its action: %v", err)
				}
			}
			return nil
		}
		var final *barrierState
		err = c.watchUntil(ctx, p+"barrier", func() (bool, error) {
			st, _, err := readEntry[barrierState](ctx, c, p+"barrier")
			final = st
			return err == nil && st.Gen != gen, err
		})
		if err != nil {
			// a party gave up: the round breaks, as Python's timeout does
			changeEntry(context.WithoutCancel(ctx), c, p+"barrier", func(st *barrierState) error {
				if st.Gen != gen {
					return errKeep // released meanwhile
				}
				return breakRound(st)
			})
			return err
		}
		if final.Released != gen+1 {
			return broken
		}
		return nil
	case ops.BarrierAbort:
		_, err := changeEntry(ctx, c, p+"barrier", breakRound)
		return err
	case ops.BarrierReset:
		_, err := changeEntry(ctx, c, p+"barrier", func(st *barrierState) error {
			if st.Count > 0 {
				st.Gen++
			}
			st.Count, st.Broken = 0, false
			return nil
		})
		return err
	case ops.BarrierParties, ops.BarrierNWaiting, ops.BarrierBroken:
		st, _, err := readEntry[barrierState](ctx, c, p+"barrier")
		if err != nil {
			return err
		}
		rep.N = int64(st.Parties)
		if ops.BarrierOp(call.Op) == ops.BarrierNWaiting {
			rep.N = int64(st.Count)
		}
		rep.OK = st.Broken
		return nil
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: a barrier has no operation %q here", call.Op)
}

// condState is a Condition's entry: the tickets taken by waiters, the
// mark below which they are released, and the tickets of waiters that
// left before being notified.
type condState struct {
	Lock     uint64   `cbor:"1,keyasint"`
	Tickets  uint64   `cbor:"2,keyasint"`
	Released uint64   `cbor:"3,keyasint"`
	Gone     []uint64 `cbor:"4,keyasint,omitempty"`
}

func (c *Conn) condition(ctx context.Context, p string, call *wire.Call, rep *wire.Reply) error {
	st, _, err := readEntry[condState](ctx, c, p+"cond")
	if err != nil {
		return err
	}
	lockKey := prefix(st.Lock) + "held"
	held, _, err := c.get(ctx, lockKey)
	if err != nil {
		return err
	}
	if held == nil {
		return ops.Errorf(ops.CodeNotOwner, "manager: Condition.%s without its lock", call.Op)
	}
	switch ops.ConditionOp(call.Op) {
	case ops.ConditionWait:
		var ticket uint64
		if _, err := changeEntry(ctx, c, p+"cond", func(st *condState) error { ticket = st.Tickets; st.Tickets++; return nil }); err != nil {
			return err
		}
		if err := c.kv.Delete(ctx, lockKey); err != nil {
			return err
		}
		werr := c.watchUntil(ctx, p+"cond", func() (bool, error) {
			st, _, err := readEntry[condState](ctx, c, p+"cond")
			return err == nil && st.Released > ticket, err
		})
		bg := context.WithoutCancel(ctx)
		if werr != nil {
			changeEntry(bg, c, p+"cond", func(st *condState) error {
				if st.Released > ticket {
					return errKeep // notified meanwhile
				}
				st.Gone = append(st.Gone, ticket) // leaving: not to be notified
				return nil
			})
		}
		// Take the lock again, whatever happened, as Python does.
		err := c.watchUntil(bg, lockKey, func() (bool, error) {
			ok, _, err := c.takeLock(bg, lockKey)
			return ok, err
		})
		if werr == nil {
			werr = err
		}
		rep.OK = werr == nil
		return werr
	case ops.ConditionNotify, ops.ConditionNotifyAll:
		n := call.N
		if ops.ConditionOp(call.Op) == ops.ConditionNotifyAll {
			n = 1 << 30
		}
		_, err := changeEntry(ctx, c, p+"cond", func(st *condState) error {
			for k := int64(0); k < n && st.Released < st.Tickets; {
				if i := slices.Index(st.Gone, st.Released); i >= 0 {
					st.Gone = slices.Delete(st.Gone, i, i+1) // a waiter that left
				} else {
					k++
				}
				st.Released++
			}
			return nil
		})
		return err
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: a condition has no operation %q here", call.Op)
}
