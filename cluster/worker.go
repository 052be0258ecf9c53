package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/mp-go/mp/internal/remote"
	"github.com/mp-go/mp/internal/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names shared by pools and workers.
const (
	tasksStream   = "MP_TASKS"
	tasksSubject  = "mp.tasks"
	consumerName  = "workers"
	resultsStream = "MP_RESULTS"
	resultsPrefix = "mp.results."
	hdrReply      = "Mp-Reply" // the subject of the task's results
	hdrTask       = "Mp-Task"  // the task's ID in its pool
)

// resultMsg is what a worker publishes for a task: every Results of it.
type resultMsg struct {
	Task    uint64         `cbor:"1,keyasint"`
	Results []wire.Results `cbor:"2,keyasint"`
	Worker  string         `cbor:"3,keyasint,omitempty"`
}

// serve runs this process as a worker of the cluster at url: it takes
// tasks from the work queue one at a time, runs them, stores their
// results and only then acknowledges them. SIGTERM or SIGINT make it
// finish the task it runs and exit 0; losing the cluster for good makes
// it exit 1.
func serve(url string) int {
	name := fmt.Sprintf("mp worker %d", os.Getpid())
	lost := make(chan struct{})
	var lostOnce sync.Once
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(60), nats.ReconnectWait(500*time.Millisecond),
		nats.ClosedHandler(func(*nats.Conn) { lostOnce.Do(func() { close(lost) }) }))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: connecting to %s: %v\n", name, redact(url), err)
		return 1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// The pool makes the stream and the consumer; a worker started first
	// waits for them.
	var cons jetstream.Consumer
	for {
		cons, err = js.Consumer(ctx, tasksStream, consumerName)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return 0
		case <-lost:
			return 1
		case <-time.After(100 * time.Millisecond):
		}
	}
	ackWait := 30 * time.Second
	if info := cons.CachedInfo(); info != nil && info.Config.AckWait > 0 {
		ackWait = info.Config.AckWait
	}
	// One message at a time: a task fetched ahead would wait here while
	// another worker could run it, and could outlive its ack wait.
	it, err := cons.Messages(jetstream.PullMaxMessages(1))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	defer it.Stop()
	go func() {
		select {
		case <-ctx.Done():
		case <-lost:
		}
		it.Drain() // Next returns once the current message is done
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return 0
			}
			select {
			case <-lost:
				fmt.Fprintf(os.Stderr, "%s: lost the cluster: %v\n", name, err)
				return 1
			default:
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return 0
			}
			continue // a transient error: the iterator goes on
		}
		runOne(js, msg, ackWait, name)
	}
}

// runOne runs the task in msg, publishes its results, then acknowledges
// it. Meanwhile it tells the server every third of the ack wait that the
// task is still running, so that a long task is not given to another
// worker.
func runOne(js jetstream.JetStream, msg jetstream.Msg, ackWait time.Duration, name string) {
	reply := msg.Headers().Get(hdrReply)
	var t wire.Task
	if reply == "" || wire.Unmarshal(msg.Data(), &t) != nil {
		msg.Term() // not a task of ours: never deliver it again
		return
	}
	stopBeat := make(chan struct{})
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		tick := time.NewTicker(ackWait / 3)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				msg.InProgress()
			case <-stopBeat:
				return
			}
		}
	}()
	var results []wire.Results
	err := remote.RunTask(context.Background(), &t, func(r *wire.Results) error {
		results = append(results, *r)
		return nil
	})
	close(stopBeat)
	<-beatDone
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: task %d: %v\n", name, t.ID, err)
		msg.Nak()
		return
	}
	data, err := wire.Marshal(resultMsg{Task: t.ID, Results: results, Worker: name})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: encoding the results of task %d: %v\n", name, t.ID, err)
		msg.Nak()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Results first, then the ack: a crash in between runs the task
	// again, and the pool drops the second result (the message ID also
	// makes the server drop it within its duplicate window).
	if _, err := js.Publish(ctx, reply, data, jetstream.WithMsgID(reply+"."+msg.Headers().Get(hdrTask))); err != nil {
		fmt.Fprintf(os.Stderr, "%s: storing the results of task %d: %v\n", name, t.ID, err)
		msg.Nak()
		return
	}
	msg.DoubleAck(ctx)
}

// redact hides the password of a URL in messages.
func redact(u string) string {
	if p, err := parseURL(u); err == nil && p.User != nil {
		if _, ok := p.User.Password(); ok {
			p.User = nil
			return p.String() + " (credentials hidden)"
		}
	}
	return u
}
