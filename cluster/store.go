package cluster

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// storeFor bounds how long a worker tries to store a results message,
// from its first publication; storeAnswer how long it waits for one
// publication's answer before it sends the message again (storeAgain).
const (
	storeFor    = 30 * time.Second
	storeAnswer = 5 * time.Second
)

// storeTiming is how storeAgain spaces its attempts.
type storeTiming struct {
	deadline time.Time     // give up then
	first    time.Duration // the first pause between attempts, doubling to 1 s
	answer   time.Duration // how long an attempt waits for its answer
}

// storeAgain waits until the results message published with f is stored,
// and reports whether it was. A cluster that cannot store it just then —
// the results stream's leader is being elected after a node stopped: no
// response from the stream, no answer within storeAnswer, no leader — is
// asked again, 50 ms doubling to 1 s apart, until storeFor after the
// first publication (results waiting behind a stuck one do not wait for
// it: their clocks run from their own), while the tasks stay held
// (the heartbeat keeps them this worker's). Giving them back at the first
// failure ran them again at once, against the same missing leader, and
// each run used up one of a task's deliveries: a task failed with "no
// worker finished the task" after 5 quick runs during one election.
//
// publish sends a message again; lost is closed when the connection is
// gone for good (nothing can be stored). Messages go to log.
func storeAgain(f jetstream.PubAckFuture, tm storeTiming, publish func(*nats.Msg) (jetstream.PubAckFuture, error), lost <-chan struct{}, log io.Writer, name string) bool {
	deadline, delay := tm.deadline, tm.first
	msg := f.Msg()
	for attempt := 1; ; attempt++ {
		var err error
		select {
		case <-f.Ok():
			if attempt > 1 {
				fmt.Fprintf(log, "%s: storing results: stored at attempt %d\n", name, attempt)
			}
			return true
		case err = <-f.Err():
		case <-time.After(min(tm.answer, time.Until(deadline))):
			err = fmt.Errorf("%w within %v", errNoStoreAnswer, tm.answer)
		case <-lost:
			return false
		}
		// ask again (a publication that fails at once too, within the
		// same bounds)
		for {
			if !transientStoreError(err) || time.Now().Add(delay).After(deadline) {
				fmt.Fprintf(log, "%s: storing results: %v\n", name, err)
				return false
			}
			if attempt == 1 {
				fmt.Fprintf(log, "%s: storing results: %v; trying again\n", name, err)
			}
			select {
			case <-time.After(delay):
			case <-lost:
				return false
			}
			delay = min(2*delay, time.Second)
			// a message of its own: the first has the reply subject of
			// its first publication set, which a publication refuses
			if f, err = publish(&nats.Msg{Subject: msg.Subject, Header: msg.Header, Data: msg.Data}); err == nil {
				break
			}
			attempt++
		}
	}
}

// transientStoreError reports whether a results message may be stored if
// sent again: the stream did not answer, or answered that it cannot
// store just now (a 503 or 408: no leader, a timeout), or the connection
// dropped and is being made again (to another node).
func transientStoreError(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.Code == 503 || api.Code == 408
	}
	return errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrAsyncPublishTimeout) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, errNoStoreAnswer)
}

var errNoStoreAnswer = errors.New("no answer")
