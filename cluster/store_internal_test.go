package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// future is a jetstream.PubAckFuture settled at once.
type future struct {
	ok  chan *jetstream.PubAck
	err chan error
	msg *nats.Msg
}

func settled(msg *nats.Msg, err error) *future {
	f := &future{ok: make(chan *jetstream.PubAck, 1), err: make(chan error, 1), msg: msg}
	if err != nil {
		f.err <- err
	} else {
		f.ok <- &jetstream.PubAck{}
	}
	return f
}

func (f *future) Ok() <-chan *jetstream.PubAck { return f.ok }
func (f *future) Err() <-chan error            { return f.err }
func (f *future) Msg() *nats.Msg               { return f.msg }

// A worker asks again for its results to be stored while the cluster
// cannot store them just then (TestThreeNodesOneStopped's "no worker
// finished the task": the results stream had no leader for 6 s after a
// node stopped, and each failure gave the task back to run again), and
// gives up at once on an error that will not pass.
func TestStoreAgain(t *testing.T) {
	noLeader := &jetstream.APIError{Code: 503, Description: "no leader"}
	for _, c := range []struct {
		name    string
		results []error // of the first publication, then of each one again
		stored  bool
		tries   int
	}{
		{"stored", []error{nil}, true, 1},
		{"no response, then stored", []error{jetstream.ErrNoStreamResponse, jetstream.ErrNoStreamResponse, nil}, true, 3},
		{"timeouts and no leader, then stored", []error{jetstream.ErrAsyncPublishTimeout, noLeader, nats.ErrNoResponders, nil}, true, 4},
		{"disconnected, then stored", []error{nats.ErrDisconnected, nil}, true, 2},
		{"a publication refused at once, then stored", []error{jetstream.ErrNoStreamResponse, errPublishNow, nil}, true, 3},
		{"no answer twice, then stored", []error{errNoAnswer, errNoAnswer, nil}, true, 3},
		{"not found: no retry", []error{jetstream.ErrStreamNotFound}, false, 1},
		{"too big: no retry", []error{nats.ErrMaxPayload}, false, 1},
		{"stays down until a lasting error", []error{jetstream.ErrNoStreamResponse, jetstream.ErrNoStreamResponse, errors.New("bad")}, false, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			first := &nats.Msg{Subject: "mp.results.x", Reply: "_INBOX.first", Data: []byte("r")}
			tries := 1
			publish := func(m *nats.Msg) (jetstream.PubAckFuture, error) {
				if m.Reply != "" || m.Subject != first.Subject || string(m.Data) != "r" {
					t.Errorf("published again %+v", m)
				}
				err := c.results[tries]
				tries++
				switch err {
				case errPublishNow:
					return nil, jetstream.ErrNoStreamResponse
				case errNoAnswer:
					return unsettled(m), nil
				}
				return settled(m, err), nil
			}
			var log strings.Builder
			done := make(chan bool)
			tm := storeTiming{deadline: time.Now().Add(storeFor), first: time.Millisecond, answer: 20 * time.Millisecond}
			f := jetstream.PubAckFuture(settled(first, c.results[0]))
			if c.results[0] == errNoAnswer {
				f = unsettled(first)
			}
			go func() { done <- storeAgain(f, tm, publish, nil, &log, "w") }()
			select {
			case stored := <-done:
				if stored != c.stored || tries != c.tries {
					t.Errorf("stored %v after %d publications, want %v after %d (log %q)", stored, tries, c.stored, c.tries, log.String())
				}
			case <-time.After(storeFor / 2):
				t.Fatalf("storeAgain did not return (log %q)", log.String())
			}
		})
	}
	// A connection lost for good ends the wait.
	lost := make(chan struct{})
	close(lost)
	tm := storeTiming{deadline: time.Now().Add(storeFor), first: time.Millisecond, answer: storeAnswer}
	if storeAgain(unsettled(&nats.Msg{}), tm, nil, lost, &strings.Builder{}, "w") {
		t.Error("stored with the connection lost")
	}
	// Past its deadline (results queued behind a stuck one), no answer
	// ends the try at once.
	past := storeTiming{deadline: time.Now(), first: time.Millisecond, answer: storeAnswer}
	start := time.Now()
	if storeAgain(unsettled(&nats.Msg{}), past, nil, nil, &strings.Builder{}, "w") || time.Since(start) > storeAnswer/2 {
		t.Errorf("a try past its deadline stored, or waited %v", time.Since(start))
	}
}

// unsettled is a future that is never answered.
func unsettled(m *nats.Msg) *future {
	return &future{ok: make(chan *jetstream.PubAck), err: make(chan error), msg: m}
}

// errNoAnswer stands for a publication never answered.
var errNoAnswer = errors.New("no answer")

// errPublishNow stands for a publication that fails before it is sent.
var errPublishNow = errors.New("publish fails at once")
