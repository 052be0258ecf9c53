package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mp-go/mp/internal/registry"
	"github.com/mp-go/mp/internal/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// The NATS backend of mp.Cluster pools: linking this package in registers
// it (import _ "github.com/mp-go/mp/cluster"), as database/sql drivers do.
func init() { registry.SetCluster(natsBackend{}) }

// natsBackend is this package as package mp sees it.
type natsBackend struct{}

var _ registry.Cluster = natsBackend{}

// Dial connects a pool to a cluster.
func (natsBackend) Dial(cfg registry.Config) (registry.Transport, error) { return dial(cfg) }

// Serve runs this process as a worker of the cluster at url.
func (natsBackend) Serve(url string) int { return serve(url) }

var _ registry.Transport = (*transport)(nil)

// ErrClusterGone is the error of the tasks in flight when a pool loses
// its cluster for good (or is closed).
var ErrClusterGone = errors.New("cluster: connection to the cluster lost")

// ErrUndeliverable is the error of a task that ran the maximum number of
// times (5) without a result: each worker that ran it died or stalled. A
// task held by a dying worker without running is not counted (see the
// package documentation).
var ErrUndeliverable = errors.New("cluster: no worker finished the task")

// transport is a pool's connection to its cluster.
type transport struct {
	cfg     registry.Config
	srv     *Server // the embedded server, if we started one
	url     string
	nc      *nats.Conn
	js      jetstream.JetStream
	tasks   jetstream.Stream
	subject string // this pool's results
	results jetstream.ConsumeContext
	adv     *nats.Subscription
	ticks   *nats.Subscription // the ticks of this pool's running tasks
	tries   *nats.Subscription // workers asking whether they may run a task again
	lost    chan struct{}
	broken  chan struct{}  // closed with brokenErr: the pool cannot work
	wg      sync.WaitGroup // the local workers' supervisors
	stop    chan struct{}  // closed by Close: the supervisors stop their workers

	mu      sync.Mutex
	pending map[uint64]*inflight  // by task ID
	bySeq   map[uint64]uint64     // task ID by stream sequence
	early   map[uint64]taskResult // results stored by a previous run (ClusterRun), not yet asked for
	big     payloads              // tasks and results bigger than a message
	closed  bool
	// brokenErr says why the pool cannot work: its local workers run the
	// program instead of serving (no mp.Main)
	brokenErr error
}

// inflight is a task waiting for its results.
type inflight struct {
	done    chan struct{}
	results []wire.Results
	ticks   int64 // every tick of the task, from its results
	err     error
	seq     uint64 // t.mu
	tries   int    // runs workers asked for after the first delivery (onAttempt); t.mu

	onTick func(n int64) // nil: the task's call wants no ticks
	tmu    sync.Mutex    // orders the ticks with the end of the task
	ticked int64         // ticks handed to onTick
	ended  bool          // onTick has had its last call
}

// tick hands n ticks of the running task to onTick, unless it ended.
func (f *inflight) tick(n int64) {
	f.tmu.Lock()
	defer f.tmu.Unlock()
	if f.ended {
		return // late: its results counted them
	}
	f.ticked += n
	f.onTick(n)
}

// end hands onTick the ticks of the task that the tick messages did not
// bring (total of them in all, 0 if it has no results) and stops it.
func (f *inflight) end(total int64) {
	f.tmu.Lock()
	defer f.tmu.Unlock()
	if f.ended {
		return
	}
	f.ended = true
	if rest := total - f.ticked; rest > 0 {
		f.onTick(rest)
	}
}

func dial(cfg registry.Config) (registry.Transport, error) {
	t := &transport{cfg: cfg, url: cfg.URL, pending: map[uint64]*inflight{}, bySeq: map[uint64]uint64{}, early: map[uint64]taskResult{}, lost: make(chan struct{}), broken: make(chan struct{}), stop: make(chan struct{})}
	if t.url == "" {
		// Loopback, but other users of this host could connect: a random
		// token keeps them out (workers get it in their URL).
		token := nuid.Next() + nuid.Next()
		srv, err := StartServer(Token(token))
		if err != nil {
			return nil, err
		}
		t.srv, t.url = srv, strings.Replace(srv.URL(), "nats://", "nats://"+token+"@", 1)
	}
	if err := t.connect(); err != nil {
		t.Close()
		return nil, err
	}
	for range cfg.LocalWorkers {
		if err := t.startWorker(); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// connect connects, makes the streams and the consumer, and starts
// receiving this pool's results and the undeliverable tasks' advisories.
func (t *transport) connect() error {
	var lostOnce sync.Once
	opts, err := authOptions(t.cfg.Creds, t.cfg.CA)
	if err != nil {
		return err
	}
	opts = append(opts, nats.Name("mp pool"), nats.MaxReconnects(60), nats.ReconnectWait(500*time.Millisecond),
		nats.ClosedHandler(func(*nats.Conn) { lostOnce.Do(func() { close(t.lost) }) }))
	nc, err := nats.Connect(t.url, opts...)
	if err != nil {
		return fmt.Errorf("cluster: connecting to %s: %w", redact(t.url), err)
	}
	t.nc = nc
	// A task's ack that does not come in 5 s fails its publication,
	// which Run then retries (as publish does).
	if t.js, err = jetstream.New(nc, jetstream.WithPublishAsyncTimeout(5*time.Second)); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The embedded server dies with this process: its streams need not
	// outlive it on disk.
	storage := jetstream.FileStorage
	if t.srv != nil {
		storage = jetstream.MemoryStorage
	}
	// In a NATS cluster, streams are replicated on up to three nodes, so
	// that losing one loses nothing.
	replicas := 1
	if nc.ConnectedClusterName() != "" {
		replicas = min(3, len(nc.Servers()))
	}
	// A cluster that has just started may still be electing its
	// JetStream leader: retry for a while.
	var last error
	for {
		actx, acancel := context.WithTimeout(ctx, 3*time.Second)
		t.tasks, err = t.js.CreateOrUpdateStream(actx, jetstream.StreamConfig{
			Name:      tasksStream,
			Subjects:  []string{tasksSubject},
			Retention: jetstream.WorkQueuePolicy,
			Storage:   storage,
			Replicas:  replicas,
			// a resumed run (ClusterRun) publishes its tasks again: the
			// server drops those it has, within this window
			Duplicates: time.Hour,
		})
		acancel()
		if err == nil || ctx.Err() != nil {
			break
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		if last != nil {
			err = fmt.Errorf("%w (before: %w)", err, last)
		}
		return fmt.Errorf("cluster: making the task stream (is JetStream on?): %w", err)
	}
	if _, err := t.tasks.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       consumerName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.cfg.AckWait,
		MaxDeliver:    deliveryLimit(t.cfg.MaxDeliver),
		MaxAckPending: 100_000,
		FilterSubject: tasksSubject,
	}); err != nil {
		return fmt.Errorf("cluster: making the workers' consumer: %w", err)
	}
	if _, err := t.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       resultsStream,
		Subjects:   []string{resultsPrefix + ">"},
		Retention:  jetstream.LimitsPolicy,
		Storage:    storage,
		MaxAge:     time.Hour,
		Duplicates: 2 * time.Minute,
		Replicas:   replicas,
	}); err != nil {
		return fmt.Errorf("cluster: making the result stream: %w", err)
	}
	t.big.js = t.js
	if err := t.big.create(ctx, storage, replicas); err != nil {
		return err
	}
	// The results' subject: the run's name, so that a run started again
	// reads what was stored (from the start of the stream), or a fresh one.
	t.subject = resultsPrefix + nuid.Next()
	if t.cfg.Run != "" {
		t.subject = resultsPrefix + "run." + t.cfg.Run
	}
	cons, err := t.js.OrderedConsumer(ctx, resultsStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{t.subject}})
	if err != nil {
		return fmt.Errorf("cluster: receiving results: %w", err)
	}
	if t.results, err = cons.Consume(t.onResult); err != nil {
		return fmt.Errorf("cluster: receiving results: %w", err)
	}
	t.adv, err = nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+tasksStream+"."+consumerName, t.onMaxDeliveries)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if t.ticks, err = nc.Subscribe(poolSubject(ticksPrefix, t.subject), t.onTicks); err != nil {
		return fmt.Errorf("cluster: receiving progress ticks: %w", err)
	}
	if t.tries, err = nc.Subscribe(poolSubject(attemptsPrefix, t.subject), t.onAttempt); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

// breakPool fails the tasks in flight and every later Run with err.
func (t *transport) breakPool(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.brokenErr != nil {
		return
	}
	t.brokenErr = err
	close(t.broken)
	for id, f := range t.pending {
		delete(t.pending, id)
		f.err = err
		close(f.done)
	}
}

func (t *transport) URL() string { return t.url }

// Run publishes task tk and waits for its results.
func (t *transport) Run(ctx context.Context, tk *wire.Task, onTick func(n int64), onResults func(*wire.Results)) error {
	data, err := wire.Marshal(tk)
	if err != nil {
		return err
	}
	var object string
	if max := t.nc.MaxPayload(); int64(len(data)) > max-1024 {
		// too big for a message: through the object store, deleted once
		// the task has its results (or its call ends)
		if object, err = t.big.put(ctx, "task", data); err != nil {
			return err
		}
		defer t.big.drop(object)
		data = nil
	}
	f := &inflight{done: make(chan struct{})}
	if tk.Ticks && onTick != nil {
		f.onTick = onTick
		defer f.end(0) // whatever ends the task, no tick comes after Run
	}
	t.mu.Lock()
	if t.brokenErr != nil {
		t.mu.Unlock()
		return t.brokenErr
	}
	if t.closed {
		t.mu.Unlock()
		return ErrClusterGone
	}
	if tr, ok := t.early[tk.ID]; ok { // done before a restart
		delete(t.early, tk.ID)
		t.mu.Unlock()
		if f.onTick != nil {
			f.end(tr.Ticks)
		}
		for i := range tr.Results {
			onResults(&tr.Results[i])
		}
		return nil
	}
	t.pending[tk.ID] = f
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.pending, tk.ID)
		delete(t.bySeq, f.seq)
		t.mu.Unlock()
	}()
	id := strconv.FormatUint(tk.ID, 10)
	msg := &nats.Msg{Subject: tasksSubject, Data: taskData(t.subject, data)}
	if object != "" {
		msg.Header = nats.Header{hdrObject: {object}}
	}
	// Only a named run publishes its tasks again (after a restart): only
	// then does the server need their IDs to drop what it has.
	var opts []jetstream.PublishOpt
	if t.cfg.Run != "" {
		opts = append(opts, jetstream.WithMsgID(t.subject+".task."+id))
	}
	// Published without waiting: the worker may take the task while its
	// ack is on its way here, and the client writes what many calls
	// publish at once together. A publication that fails is retried,
	// waiting for each ack.
	var seq uint64
	if fut, err := t.js.PublishMsgAsync(msg, opts...); err == nil {
		select {
		case ack := <-fut.Ok():
			seq = ack.Sequence
		case <-fut.Err():
		case <-ctx.Done():
			// Taken off the queue once its ack says where it is; a
			// worker that took it first cancels it.
			t.mu.Lock()
			closed := t.closed // Close waits for t.wg: no Add after it
			if !closed {
				t.wg.Add(1)
			}
			t.mu.Unlock()
			if closed {
				return context.Cause(ctx)
			}
			go func() {
				defer t.wg.Done()
				select {
				case ack := <-fut.Ok():
					dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					t.tasks.DeleteMsg(dctx, ack.Sequence)
					cancel()
				case <-fut.Err():
				case <-t.stop:
				}
			}()
			t.nc.Publish(cancelSubject, []byte(t.subject+" "+id))
			return context.Cause(ctx)
		case <-t.lost:
			return ErrClusterGone
		}
	}
	if seq == 0 {
		ack, err := t.publish(ctx, msg, opts...)
		if err != nil {
			return err
		}
		seq = ack.Sequence
	}
	t.mu.Lock()
	f.seq = seq
	t.bySeq[seq] = tk.ID
	t.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		// Not run yet: take it off the queue. Running: tell its worker,
		// which cancels the task's context (an mp run job is killed);
		// its result, if any, is dropped.
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.tasks.DeleteMsg(dctx, seq)
		cancel()
		t.nc.Publish(cancelSubject, []byte(t.subject+" "+id))
		return context.Cause(ctx)
	case <-t.lost:
		return ErrClusterGone
	case <-t.broken:
		return t.brokenErr
	}
	if f.err != nil {
		return f.err
	}
	if f.onTick != nil {
		f.end(f.ticks)
	}
	for i := range f.results {
		onResults(&f.results[i])
	}
	return nil
}

// publish publishes msg, trying again for a minute while the cluster
// cannot take it (a node lost, a leader being elected, the connection
// being re-established): the message ID makes a second copy harmless.
func (t *transport) publish(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	deadline := time.Now().Add(time.Minute)
	wait := 50 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ack, err := t.js.PublishMsg(pctx, msg, opts...)
		cancel()
		if err == nil {
			return ack, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		select {
		case <-t.lost:
			return nil, ErrClusterGone
		default:
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("cluster: publishing a task: %w", err)
		}
		time.Sleep(wait)
		wait = min(2*wait, time.Second)
	}
}

// onResult receives the results of a task of this pool; a duplicate (a
// task run twice) finds no task waiting and is dropped.
func (t *transport) onResult(msg jetstream.Msg) {
	var r resultMsg
	if err := wire.Unmarshal(msg.Data(), &r); err != nil {
		return
	}
	for _, tr := range r.Tasks {
		if tr.Object != "" && !t.fetch(&tr) {
			continue
		}
		if !wellFormed(tr.Results) {
			continue
		}
		t.mu.Lock()
		f := t.pending[tr.Task]
		if f != nil {
			delete(t.pending, tr.Task)
		} else if _, seen := t.early[tr.Task]; t.cfg.Run != "" && !seen {
			t.early[tr.Task] = tr // from before a restart, for Run
		}
		t.mu.Unlock()
		if f == nil {
			continue
		}
		f.results, f.ticks = tr.Results, tr.Ticks
		close(f.done)
	}
}

// fetch reads the results of tr that a worker put in the object store.
// It reports false if they cannot be had: the task is then run again
// (its results are missing), which beats losing them.
func (t *transport) fetch(tr *taskResult) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := t.big.get(ctx, tr.Object)
	if err == nil {
		err = wire.Unmarshal(b, &tr.Results)
	}
	if err != nil {
		return false
	}
	t.big.fetchedResult(tr.Object)
	return true
}

// wellFormed checks that results cover their task's items in order.
func wellFormed(rs []wire.Results) bool {
	next := 0
	for _, r := range rs {
		if r.From != next || r.N < 1 {
			return false
		}
		next += r.N
	}
	return true
}

// onTicks hands the ticks a worker sent for a running task of this pool
// to its call; ticks of a task no longer waiting are dropped.
func (t *transport) onTicks(m *nats.Msg) {
	var tk wire.Tick
	if wire.Unmarshal(m.Data, &tk) != nil || tk.N <= 0 {
		return
	}
	t.mu.Lock()
	f := t.pending[tk.Task]
	t.mu.Unlock()
	if f != nil && f.onTick != nil {
		f.tick(tk.N)
	}
}

// Close stops the local workers, the connection and the embedded server.
func (t *transport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	select {
	case <-t.stop:
	default:
		close(t.stop)
	}
	t.wg.Wait()
	if t.results != nil {
		t.results.Stop()
	}
	if t.adv != nil {
		t.adv.Unsubscribe()
	}
	if t.ticks != nil {
		t.ticks.Unsubscribe()
	}
	if t.tries != nil {
		t.tries.Unsubscribe()
	}
	if t.js != nil {
		t.big.dropFetched()
	}
	if t.nc != nil {
		t.nc.Close()
	}
	if t.srv != nil {
		t.srv.Shutdown()
	}
	return nil
}

func parseURL(u string) (*url.URL, error) { return url.Parse(u) }

// authOptions turns a credentials file (a .creds file, or an nkey seed
// file) and a CA file into NATS options.
func authOptions(creds, ca string) ([]nats.Option, error) {
	var opts []nats.Option
	if creds != "" {
		if strings.HasSuffix(creds, ".creds") {
			opts = append(opts, nats.UserCredentials(creds))
		} else {
			o, err := nats.NkeyOptionFromSeed(creds)
			if err != nil {
				return nil, fmt.Errorf("cluster: the nkey seed file %s: %w", creds, err)
			}
			opts = append(opts, o)
		}
	}
	if ca != "" {
		opts = append(opts, nats.RootCAs(ca))
	}
	return opts, nil
}
