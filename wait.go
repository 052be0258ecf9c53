package mp

import (
	"context"
	"iter"
)

// Return conditions for Wait, as in concurrent.futures.wait.
type WaitMode int

const (
	// AllCompleted waits until every future is resolved.
	AllCompleted WaitMode = iota
	// FirstCompleted waits until any future is resolved.
	FirstCompleted
	// FirstException waits until any future fails, or all are resolved.
	FirstException
)

// Wait waits for the futures as mode says and returns those resolved and
// those not (concurrent.futures.wait). If ctx ends first, it returns the
// two sets at that moment and context.Cause(ctx); use
// context.WithTimeout for Python's timeout.
func Wait[R any](ctx context.Context, fs []*Future[R], mode WaitMode) (done, pending []*Future[R], err error) {
	fs = unique(fs)
	ch := make(chan *Future[R], len(fs))
	for _, f := range fs {
		f.AddDoneCallback(func(f *Future[R]) { ch <- f })
	}
	// A future cancelled is not an exception here (Python's semantics):
	// FirstException waits on past it.
	stops := func(f *Future[R]) bool {
		return mode == FirstCompleted || (mode == FirstException && f.Err() != nil && !f.Cancelled())
	}
wait:
	for n := 0; n < len(fs); n++ {
		// Futures already resolved count before an ended ctx.
		select {
		case f := <-ch:
			if stops(f) {
				break wait
			}
			continue
		default:
		}
		select {
		case f := <-ch:
			if stops(f) {
				break wait
			}
		case <-ctx.Done():
			err = context.Cause(ctx)
			break wait
		}
	}
	for _, f := range fs {
		if f.Ready() {
			done = append(done, f)
		} else {
			pending = append(pending, f)
		}
	}
	return done, pending, err
}

// AsCompleted yields the futures as they are resolved, first resolved
// first (concurrent.futures.as_completed). Each future is yielded once,
// duplicates being dropped. If ctx ends first it yields every future
// already resolved, then (nil, context.Cause(ctx)), and stops: as in
// Python, an ended ctx (timeout=0) still gives what is done. Progress or ProgressBar ticks a bar per
// future; other options are refused.
func AsCompleted[R any](ctx context.Context, fs []*Future[R], opts ...Option) iter.Seq2[*Future[R], error] {
	return func(yield func(*Future[R], error) bool) {
		var s settings
		for _, o := range opts {
			var probe settings
			if o == nil {
				continue
			}
			if err := o.applyCall(&probe); err != nil {
				yield(nil, err)
				return
			}
			if probe.progressDesc == nil && probe.bar == nil {
				yield(nil, errOnlyProgress("AsCompleted"))
				return
			}
			_ = o.applyCall(&s)
		}
		fs := unique(fs)
		ch := make(chan *Future[R], len(fs))
		for _, f := range fs {
			f.AddDoneCallback(func(f *Future[R]) { ch <- f })
		}
		bar, own := s.bar, false
		if bar == nil && s.progressDesc != nil {
			bar, own = newBar(&s, int64(len(fs))), true
		}
		if own {
			defer bar.Close()
		}
		give := func(f *Future[R]) bool {
			if bar != nil {
				bar.Add(1)
			}
			return yield(f, nil)
		}
		for range len(fs) {
			select { // what is resolved first, whether or not ctx has ended
			case f := <-ch:
				if !give(f) {
					return
				}
				continue
			default:
			}
			select {
			case f := <-ch:
				if !give(f) {
					return
				}
			case <-ctx.Done():
				yield(nil, context.Cause(ctx))
				return
			}
		}
	}
}

func unique[R any](fs []*Future[R]) []*Future[R] {
	seen := make(map[*Future[R]]bool, len(fs))
	out := make([]*Future[R], 0, len(fs))
	for _, f := range fs {
		if f != nil && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}
