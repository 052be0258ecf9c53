package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mp-go/mp/cluster"
	"github.com/mp-go/mp/internal/proc"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// The baseline of the cluster case: a plain JetStream work queue written
// directly on nats.go, as one would by hand, with what the cluster pool
// guarantees at its core (tasks in a work-queue stream with explicit
// acks, results stored in a stream before the task is acknowledged) and
// nothing more: no chunking, message IDs, cancellation, progress or big
// payloads. The server is the one the pool embeds (cluster.StartServer,
// same options: in-process, loopback, a token), the streams in memory as
// the pool's, the workers two processes of this program (jsWorkerEnv).
const (
	jsWorkerEnv   = "MP_BENCH_JS_WORKER" // the server's URL: run as a baseline worker
	jsTasks       = "BENCH_TASKS"
	jsTasksSubj   = "bench.tasks"
	jsResults     = "BENCH_RESULTS"
	jsResultsPref = "bench.results."
	jsConsumer    = "bench-workers"
	jsHdrReply    = "Reply"
)

// jsBaseline is the producer side: the server, the streams, the results
// consumer and the worker processes.
type jsBaseline struct {
	srv     *cluster.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	subject string
	results jetstream.ConsumeContext
	got     chan [2]uint64 // task ID, result
	cmds    []*exec.Cmd
	next    uint64
}

// startJSBaseline starts the server, the streams and n worker processes.
func startJSBaseline(n int) *jsBaseline {
	token := nuid.Next()
	srv, err := cluster.StartServer(cluster.Token(token))
	check(err)
	url := strings.Replace(srv.URL(), "nats://", "nats://"+token+"@", 1)
	b := &jsBaseline{srv: srv, got: make(chan [2]uint64, 4096), subject: jsResultsPref + nuid.Next()}
	b.nc, err = nats.Connect(url)
	check(err)
	b.js, err = jetstream.New(b.nc)
	check(err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tasks, err := b.js.CreateStream(ctx, jetstream.StreamConfig{Name: jsTasks, Subjects: []string{jsTasksSubj}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.MemoryStorage})
	check(err)
	_, err = tasks.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: jsConsumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: 30 * time.Second, MaxAckPending: 100_000})
	check(err)
	_, err = b.js.CreateStream(ctx, jetstream.StreamConfig{Name: jsResults, Subjects: []string{jsResultsPref + ">"}, Storage: jetstream.MemoryStorage, MaxAge: time.Hour})
	check(err)
	cons, err := b.js.OrderedConsumer(ctx, jsResults, jetstream.OrderedConsumerConfig{FilterSubjects: []string{b.subject}})
	check(err)
	b.results, err = cons.Consume(func(m jetstream.Msg) {
		d := m.Data()
		if len(d) == 16 {
			b.got <- [2]uint64{binary.LittleEndian.Uint64(d), binary.LittleEndian.Uint64(d[8:])}
		}
	})
	check(err)
	exe, err := os.Executable()
	check(err)
	for range n {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), jsWorkerEnv+"="+url)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		proc.Configure(cmd)
		check(cmd.Start())
		b.cmds = append(b.cmds, cmd)
	}
	return b
}

// task returns the message of a task: its ID and its argument.
func (b *jsBaseline) task(x int) *nats.Msg {
	b.next++
	d := make([]byte, 16)
	binary.LittleEndian.PutUint64(d, b.next)
	binary.LittleEndian.PutUint64(d[8:], uint64(x))
	return &nats.Msg{Subject: jsTasksSubj, Data: d, Header: nats.Header{jsHdrReply: {b.subject}}}
}

// run publishes one task per item of in without waiting (the client
// bounds the publications awaiting their acks) and waits for every
// result, checking each.
func (b *jsBaseline) run(in []int) {
	first := b.next + 1
	go func() {
		for _, x := range in {
			if _, err := b.js.PublishMsgAsync(b.task(x)); err != nil {
				fail(fmt.Errorf("baseline: %w", err))
			}
		}
	}()
	timeout := time.After(2 * time.Minute)
	for range in {
		select {
		case r := <-b.got:
			i := r[0] - first
			if i >= uint64(len(in)) || r[1] != uint64(sq(in[i])) {
				fail(fmt.Errorf("baseline: task %d: wrong result %d", r[0], r[1]))
			}
		case <-timeout:
			fail(fmt.Errorf("baseline: no result within 2 minutes"))
		}
	}
}

// apply publishes one task, waits for its ack, then for its result.
func (b *jsBaseline) apply(x int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msg := b.task(x)
	_, err := b.js.PublishMsg(ctx, msg)
	check(err)
	select {
	case r := <-b.got:
		if r[0] != b.next || r[1] != uint64(sq(x)) {
			fail(fmt.Errorf("baseline: task %d: got %v", b.next, r))
		}
	case <-ctx.Done():
		fail(fmt.Errorf("baseline: no result within a minute"))
	}
}

// close stops the workers (SIGINT: they finish and exit), the connection
// and the server.
func (b *jsBaseline) close() {
	for _, cmd := range b.cmds {
		cmd.Process.Signal(os.Interrupt)
	}
	for _, cmd := range b.cmds {
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	b.results.Stop()
	b.nc.Close()
	b.srv.Shutdown()
}

// jsWorker is a baseline worker process: it consumes tasks with a pull
// consumer, computes sq, publishes the result to the task's reply
// subject in the results stream and acknowledges the task once the
// result is stored.
func jsWorker(url string) {
	nc, err := nats.Connect(url)
	check(err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	check(err)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cons, err := js.Consumer(ctx, jsTasks, jsConsumer)
	check(err)
	type pending struct {
		f   jetstream.PubAckFuture
		msg jetstream.Msg
	}
	acks := make(chan pending, 4096)
	acked := make(chan struct{})
	go func() { // results stored, then the ack
		defer close(acked)
		for p := range acks {
			select {
			case <-p.f.Ok():
				p.msg.Ack()
			case <-p.f.Err():
				p.msg.Nak()
			}
		}
	}()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		d := m.Data()
		if len(d) != 16 {
			m.Term()
			return
		}
		r := make([]byte, 16)
		copy(r, d[:8])
		binary.LittleEndian.PutUint64(r[8:], uint64(sq(int(binary.LittleEndian.Uint64(d[8:])))))
		f, err := js.PublishAsync(m.Headers().Get(jsHdrReply), r)
		if err != nil {
			m.Nak()
			return
		}
		acks <- pending{f, m}
	})
	check(err)
	<-ctx.Done()
	cc.Drain()
	<-cc.Closed()
	close(acks)
	<-acked
}
