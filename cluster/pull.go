package cluster

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// A worker pulls its tasks itself, on one subscription it keeps for its
// life (jetstream's Fetch makes a subscription and a goroutine for each
// batch): it sends a pull request for as many tasks as it means to run
// and reads them, and the server's status message that ends the request,
// on its inbox. So it holds only the tasks it asked for, as with Fetch.
type puller struct {
	nc    *nats.Conn
	sub   *nats.Subscription
	inbox string
	next  string // the consumer's pull request subject
}

// newPuller subscribes to a fresh inbox for the tasks of the consumer
// consumer of stream.
func newPuller(nc *nats.Conn, stream, consumer string) (*puller, error) {
	p := &puller{nc: nc, inbox: nc.NewInbox(), next: "$JS.API.CONSUMER.MSG.NEXT." + stream + "." + consumer}
	var err error
	if p.sub, err = nc.SubscribeSync(p.inbox); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	// a worker holds at most a batch: the defaults bound far more
	p.sub.SetPendingLimits(-1, -1)
	return p, nil
}

// close ends the subscription.
func (p *puller) close() { p.sub.Unsubscribe() }

// errPull is a pull request the server refused (409: too many waiting
// requests, the consumer deleted...).
var errPull = errors.New("cluster: pull request refused")

// messages asks for up to batch tasks and yields them as they come: those
// there now if wait is 0, else the first to come within wait (batch is
// then 1). It ends when the server ends the request, when batch tasks
// came, when ctx ends, or when no answer comes in time (the request lost
// on a reconnect); *err is then set for a refused request.
func (p *puller) messages(ctx context.Context, batch int, wait time.Duration, err *error) iter.Seq[*taskMsg] {
	return func(yield func(*taskMsg) bool) {
		req := `{"batch":` + strconv.Itoa(batch) + `,"no_wait":true}`
		if wait > 0 {
			req = `{"batch":` + strconv.Itoa(batch) + `,"expires":` + strconv.FormatInt(int64(wait), 10) + `}`
		}
		if e := p.nc.PublishRequest(p.next, p.inbox, []byte(req)); e != nil {
			*err = fmt.Errorf("cluster: pull request: %w", e)
			return
		}
		ctx, cancel := context.WithTimeout(ctx, wait+5*time.Second)
		defer cancel()
		for n := 0; n < batch; {
			m, e := p.sub.NextMsgWithContext(ctx)
			if e != nil {
				return // ctx ended, or the answer was lost: ask again
			}
			if status := m.Header.Get("Status"); status != "" && len(m.Data) == 0 {
				switch status {
				case "100": // heartbeat
					continue
				case "404", "408": // no (more) tasks, or the wait is over
					return
				default:
					*err = fmt.Errorf("%w: %s %s", errPull, status, m.Header.Get("Description"))
					return
				}
			}
			n++
			if !yield(&taskMsg{m: m, nc: p.nc}) {
				return
			}
		}
	}
}

// taskMsg is a task taken from the work queue: the message and the
// acknowledgements a worker sends for it (JetStream's protocol: a payload
// on the message's reply subject).
type taskMsg struct {
	m  *nats.Msg
	nc *nats.Conn
}

func (t *taskMsg) Data() []byte         { return t.m.Data }
func (t *taskMsg) Headers() nats.Header { return t.m.Header }

// Ack says the task is done: it leaves the queue.
func (t *taskMsg) Ack() error { return t.nc.Publish(t.m.Reply, []byte("+ACK")) }

// Nak gives the task back, to be delivered again at once.
func (t *taskMsg) Nak() error { return t.nc.Publish(t.m.Reply, []byte("-NAK")) }

// Term drops the task for good: it is not ours to run.
func (t *taskMsg) Term() error { return t.nc.Publish(t.m.Reply, []byte("+TERM")) }

// InProgress tells the server the task is running: its ack wait starts
// again.
func (t *taskMsg) InProgress() error { return t.nc.Publish(t.m.Reply, []byte("+WPI")) }

// NumDelivered is how many times the server delivered the task, this
// time included; 0 if it cannot be read from the reply subject.
func (t *taskMsg) NumDelivered() uint64 { return ackToken(t.m.Reply, ackDelivered) }

// NumPending is how many tasks the queue held for the consumer after this
// one when it was delivered (a worker that took the last one waits for
// the next instead of asking for what is there); 0 if it cannot be read.
func (t *taskMsg) NumPending() uint64 { return ackToken(t.m.Reply, ackPending) }

// The positions of the numbers in an ack subject, as nats.go numbers them:
// $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<stream
// seq>.<consumer seq>.<time>.<pending>[.<random>] (12 tokens or 11), or
// without domain and account hash (9 tokens: 2 fewer).
const (
	ackDelivered = 6
	ackPending   = 10
)

// ackToken reads the number at position pos of the ack subject reply; 0
// if reply is not one.
func ackToken(reply string, pos int) uint64 {
	toks := strings.Split(reply, ".")
	switch {
	case len(toks) == 9:
		pos -= 2
	case len(toks) >= 11:
	default:
		return 0
	}
	if toks[0] != "$JS" || toks[1] != "ACK" {
		return 0
	}
	n, _ := strconv.ParseUint(toks[pos], 10, 64)
	return n
}
