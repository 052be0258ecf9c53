package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// puller takes a worker's tasks from the workers' consumer over one
// subscription that lives as long as the worker: a pull request per batch
// on the consumer's API subject, answered on the puller's inbox. The
// jetstream package's Fetch subscribes and unsubscribes for every batch
// (two more protocol messages, and a change to the server's subject
// index) and cannot ask for "up to n, as soon as there is one"; with one
// task per message, that was a large part of what a task cost.
type puller struct {
	nc      *nats.Conn
	subject string // the consumer's "next messages" API subject
	inbox   string
	sub     *nats.Subscription
	msgs    chan *nats.Msg
}

// maxBatch bounds the tasks a worker asks for at once (batchSize).
const maxBatch = 64

// newPuller subscribes to a new inbox for the tasks of consumer on
// stream.
func newPuller(nc *nats.Conn, stream, consumer string) (*puller, error) {
	p := &puller{
		nc:      nc,
		subject: fmt.Sprintf("$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, consumer),
		inbox:   nc.NewInbox(),
		msgs:    make(chan *nats.Msg, 4*maxBatch),
	}
	var err error
	if p.sub, err = nc.ChanSubscribe(p.inbox, p.msgs); err != nil {
		return nil, fmt.Errorf("cluster: subscribing for tasks: %w", err)
	}
	return p, nil
}

// pullRequest is JetStream's request for a consumer's next messages.
type pullRequest struct {
	Batch   int           `json:"batch"`
	Expires time.Duration `json:"expires,omitempty"`
	NoWait  bool          `json:"no_wait,omitempty"`
}

// errPull is a pull request the server refused or ended early.
var errPull = errors.New("cluster: taking tasks")

// pull asks for up to n tasks: those waiting now, or, if none, the first
// that comes within wait (none if wait is 0). It calls run for each task
// as it arrives, and returns how many came. A request that gets no answer
// (a reconnect lost it) ends after wait and 5 s; a late answer to it is
// taken by the next pull (a task is a task; a status only ends that pull
// early).
func (p *puller) pull(ctx context.Context, n int, wait time.Duration, run func(*nats.Msg)) (int, error) {
	req, _ := json.Marshal(pullRequest{Batch: n, Expires: wait, NoWait: true})
	if err := p.nc.PublishRequest(p.subject, p.inbox, req); err != nil {
		return 0, fmt.Errorf("%w: %w", errPull, err)
	}
	timer := time.NewTimer(wait + 5*time.Second)
	defer timer.Stop()
	got := 0
	for got < n {
		select {
		case m := <-p.msgs:
			if len(m.Data) == 0 && m.Header.Get("Status") != "" {
				switch m.Header.Get("Status") {
				case "100": // a heartbeat (not asked for)
					continue
				case "404", "408": // no (more) tasks: the request is over
					return got, nil
				default: // 409: the consumer is gone, a leader changed...
					return got, fmt.Errorf("%w: %s %s", errPull, m.Header.Get("Status"), m.Header.Get("Description"))
				}
			}
			got++
			run(m)
		case <-timer.C:
			return got, nil
		case <-ctx.Done():
			return got, nil
		}
	}
	return got, nil
}

// close unsubscribes.
func (p *puller) close() { p.sub.Unsubscribe() }
