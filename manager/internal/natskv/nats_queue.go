package natskv

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/nats-io/nats.go/jetstream"
)

// natsQueue is a Queue: a work-queue stream and its consumer.
type natsQueue struct {
	stream jetstream.Stream
	cons   jetstream.Consumer
	subj   string
}

func (c *Conn) queueName(id uint64) string {
	return "MPQ_" + c.bucket + "_" + strconv.FormatUint(id, 10)
}

// queue returns queue id's stream, making it if max >= 0.
func (c *Conn) queue(ctx context.Context, id uint64, max int64) (*natsQueue, error) {
	c.mu.Lock()
	q := c.queues[id]
	c.mu.Unlock()
	if q != nil {
		return q, nil
	}
	name := c.queueName(id)
	q = &natsQueue{subj: "mpq." + c.bucket + "." + strconv.FormatUint(id, 10)}
	var err error
	if max >= 0 {
		cfg := jetstream.StreamConfig{Name: name, Subjects: []string{q.subj}, Retention: jetstream.WorkQueuePolicy, Discard: jetstream.DiscardNew, MaxMsgs: -1}
		if max > 0 {
			cfg.MaxMsgs = max
		}
		q.stream, err = c.js.CreateOrUpdateStream(ctx, cfg)
	} else {
		q.stream, err = c.js.Stream(ctx, name)
	}
	if err != nil {
		return nil, err
	}
	q.cons, err = q.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "get", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.queues[id] = q
	c.mu.Unlock()
	return q, nil
}

// listQueues lists this bucket's queue streams.
func (c *Conn) listQueues(ctx context.Context) []string {
	var out []string
	names := c.js.StreamNames(ctx)
	for n := range names.Name() {
		if strings.HasPrefix(n, "MPQ_"+c.bucket+"_") {
			out = append(out, n)
		}
	}
	return out
}

// counter adds d to the integer entry k (compare-and-set); with min0, a
// result below 0 is refused as too many TaskDones.
func (c *Conn) counter(ctx context.Context, k string, d int64, min0 bool) error {
	_, err := changeEntry(ctx, c, k, func(n *int64) error {
		if min0 && *n+d < 0 {
			return ops.Errorf(ops.CodeBadArgs, "manager: task_done called more times than items were put")
		}
		*n += d
		return nil
	})
	return err
}

func (c *Conn) queueCall(ctx context.Context, call *wire.Call, rep *wire.Reply) error {
	q, err := c.queue(ctx, call.Obj, -1)
	if err != nil {
		return err
	}
	p := prefix(call.Obj)
	closed := func() (bool, error) {
		v, _, err := c.get(ctx, p+"closed")
		return v != nil, err
	}
	switch ops.QueueOp(call.Op) {
	case ops.QueuePut:
		if cl, err := closed(); err != nil || cl {
			if cl {
				return ops.Errorf(ops.CodeClosed, "manager: queue closed")
			}
			return err
		}
		wait := 10 * time.Millisecond
		for i := 0; i < len(call.Args); {
			if err := c.counter(ctx, p+"unfinished", 1, false); err != nil {
				return err
			}
			_, err := c.js.Publish(ctx, q.subj, call.Args[i])
			if err == nil {
				rep.N++
				i++
				wait = 10 * time.Millisecond
				continue
			}
			c.counter(ctx, p+"unfinished", -1, false)
			if !strings.Contains(err.Error(), "maximum messages") {
				return err
			}
			if !call.Flag {
				if i == 0 {
					return ops.Errorf(ops.CodeFull, "manager: queue full")
				}
				return nil
			}
			select { // full: wait for room
			case <-ctx.Done():
				if i > 0 {
					return nil
				}
				return ctx.Err()
			case <-time.After(wait):
				wait = min(2*wait, 200*time.Millisecond)
			}
		}
		return nil
	case ops.QueueGet:
		max := int(max(1, call.N))
		for {
			batch, err := q.cons.FetchNoWait(max)
			if err != nil {
				return err
			}
			for m := range batch.Messages() {
				rep.Vals = append(rep.Vals, m.Data())
				m.DoubleAck(ctx)
			}
			if len(rep.Vals) > 0 {
				return nil
			}
			if cl, err := closed(); err != nil || cl {
				if cl {
					return ops.Errorf(ops.CodeClosed, "manager: queue closed")
				}
				return err
			}
			if !call.Flag {
				return ops.Errorf(ops.CodeEmpty, "manager: queue empty")
			}
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			batch, err = q.cons.Fetch(1, jetstream.FetchContext(wctx))
			if err == nil {
				for m := range batch.Messages() {
					rep.Vals = append(rep.Vals, m.Data())
					m.DoubleAck(ctx)
				}
			}
			cancel()
			if len(rep.Vals) > 0 {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	case ops.QueueQsize, ops.QueueFull:
		info, err := q.stream.Info(ctx)
		if err != nil {
			return err
		}
		rep.N = int64(info.State.Msgs)
		rep.OK = info.Config.MaxMsgs > 0 && rep.N >= info.Config.MaxMsgs
		return nil
	case ops.QueueTaskDone:
		return c.counter(ctx, p+"unfinished", -max(1, call.N), true)
	case ops.QueueJoin:
		return c.watchUntil(ctx, p+"unfinished", func() (bool, error) {
			n, _, err := readEntry[int64](ctx, c, p+"unfinished")
			return err == nil && *n <= 0, err
		})
	case ops.QueueClose:
		_, err := c.kv.Put(ctx, p+"closed", []byte("1"))
		return err
	}
	return ops.Errorf(ops.CodeUnknownOp, "manager: a queue has no operation %q here", call.Op)
}
