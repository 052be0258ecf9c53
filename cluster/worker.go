package cluster

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mp-go/mp/internal/registry"
	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
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
	// cancelSubject carries "<results subject> <task ID>" of a task whose
	// call ended: the worker running it cancels its context.
	cancelSubject = "mp.cancel"
	// ticksPrefix starts the core subject on which a worker sends the
	// ticks (mp.Tick) of a running task that asks for them (Task.Ticks):
	// mp.ticks.<pool> for the results subject mp.results.<pool>.
	ticksPrefix = "mp.ticks."
	// attemptsPrefix starts the core subject on which a worker asks the
	// pool, before it runs a task delivered before, whether it may
	// (mp.attempts.<pool>): the pool counts the task's runs and fails it
	// once its workers died of it MaxDeliver times.
	attemptsPrefix = "mp.attempts."
)

// taskData returns the data of a task message: the subject of the
// task's results (its length as a uvarint, then its bytes), then the CBOR
// task (nothing when the task is in the object store). One message
// without headers is cheaper for the server than a header per field.
func taskData(reply string, task []byte) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(reply)+len(task))
	b = binary.AppendUvarint(b, uint64(len(reply)))
	b = append(b, reply...)
	return append(b, task...)
}

// parseTaskData splits what taskData made; ok is false if data is not a
// task message.
func parseTaskData(data []byte) (reply string, task []byte, ok bool) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n == 0 || n > uint64(len(data)-k) {
		return "", nil, false
	}
	return string(data[k : k+int(n)]), data[k+int(n):], true
}

// poolSubject returns the subject starting with prefix (ticksPrefix,
// attemptsPrefix) of the pool whose results go to results, or "" if
// results is not a pool's.
func poolSubject(prefix, results string) string {
	rest, ok := strings.CutPrefix(results, resultsPrefix)
	if !ok || rest == "" {
		return ""
	}
	return prefix + rest
}

// resultMsg is what a worker publishes to a pool: the results of one or
// more of its tasks.
type resultMsg struct {
	Tasks  []taskResult `cbor:"1,keyasint"`
	Worker string       `cbor:"2,keyasint,omitempty"`
}

// taskResult is every Results of one task.
type taskResult struct {
	Task    uint64         `cbor:"1,keyasint"`
	Results []wire.Results `cbor:"2,keyasint"`
	// Object names the object that holds Results (encoded) when they are
	// too big for a message; Results is then empty.
	Object string `cbor:"3,keyasint,omitempty"`
	// Ticks is every tick (mp.Tick) of the task's items, for a Task with
	// Ticks: the pool adds what its tick messages did not bring.
	Ticks int64 `cbor:"4,keyasint,omitempty"`
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
	opts, err := authOptions(os.Getenv(registry.CredsEnv), os.Getenv(registry.CAEnv))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	opts = append(opts, nats.Name(name), nats.MaxReconnects(60), nats.ReconnectWait(500*time.Millisecond),
		nats.ClosedHandler(func(*nats.Conn) { lostOnce.Do(func() { close(lost) }) }))
	nc, err := nats.Connect(url, opts...)
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
	w := &worker{nc: nc, js: js, name: name, more: true, ackWait: ackWait, maxMsg: int(nc.MaxPayload()), running: map[string]context.CancelFunc{}, held: map[*taskMsg]struct{}{}, lost: lost}
	w.big.js = js
	sub, err := nc.Subscribe(cancelSubject, func(m *nats.Msg) {
		w.mu.Lock()
		cancel := w.running[string(m.Data)]
		w.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	defer sub.Unsubscribe()
	pull, err := newPuller(nc, tasksStream, consumerName)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	defer pull.close()
	go w.heartbeat(ctx)
	w.sents = make(chan sent, 1024)
	acked := make(chan struct{})
	go w.acker(acked)
	defer func() { close(w.sents); <-acked }()
	for ctx.Err() == nil {
		select {
		case <-lost:
			fmt.Fprintf(os.Stderr, "%s: lost the cluster\n", name)
			return 1
		default:
		}
		// Take what is there, up to a batch that the recent task time
		// says we finish well within the ack wait; if nothing is there,
		// wait for one. When the queue's count after the last task taken
		// says it is empty, wait at once: a pull that finds nothing costs
		// the server a request and an answer per task when tasks come one
		// at a time, as Apply's do.
		size := w.batchSize()
		var perr error
		n := 0
		if w.more {
			n = w.runBatch(pull.messages(ctx, size, 0, &perr), size)
		}
		if n == 0 && perr == nil {
			n = w.runBatch(pull.messages(ctx, 1, 2*time.Second, &perr), 1)
		}
		if perr != nil && n == 0 {
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return 0
}

// worker is a cluster worker's state.
type worker struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	name    string
	ackWait time.Duration
	avg     time.Duration // recent time per task
	maxMsg  int           // the cluster's message limit
	more    bool          // the queue had tasks after the last one taken (or none taken yet)
	big     payloads      // tasks and results bigger than a message

	// sents are the results published, for the acker, which
	// acknowledges their tasks once they are stored; unsettled counts
	// those it has not yet done.
	sents     chan sent
	unsettled sync.WaitGroup
	lost      <-chan struct{} // closed when the connection is closed for good

	mu      sync.Mutex
	held    map[*taskMsg]struct{}         // taken, not yet acknowledged
	running map[string]context.CancelFunc // the task running, by "<results subject> <task ID>"
}

// batchSize is how many tasks to take at once: as many as take 5 ms at
// the recent pace, 1 to 64. More would hold tasks that an idle worker
// could run, and that a cancelled call can no longer take back.
func (w *worker) batchSize() int {
	if w.avg <= 0 {
		return 1
	}
	return int(max(1, min(64, int64(5*time.Millisecond/w.avg))))
}

// heartbeat tells the server every third of the ack wait that the tasks
// held are alive, so that a long task is not given to another worker.
func (w *worker) heartbeat(ctx context.Context) {
	tick := time.NewTicker(w.ackWait / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			w.mu.Lock()
			held := slices.Collect(maps.Keys(w.held))
			w.mu.Unlock()
			for _, m := range held {
				m.InProgress()
			}
		}
	}
}

// sent is a results message published and the tasks it holds.
type sent struct {
	msgs []*taskMsg
	f    jetstream.PubAckFuture
	at   time.Time // published
}

// acker acknowledges the tasks of each results message once it is
// stored, or gives them back if it is not, while the worker runs the
// next tasks; it closes done when w.sents is closed and drained.
func (w *worker) acker(done chan<- struct{}) {
	defer close(done)
	for s := range w.sents {
		tm := storeTiming{deadline: s.at.Add(storeFor), first: 50 * time.Millisecond, answer: storeAnswer}
		ok := storeAgain(s.f, tm, func(m *nats.Msg) (jetstream.PubAckFuture, error) { return w.js.PublishMsgAsync(m) }, w.lost, os.Stderr, w.name)
		// Results first, then the ack: a crash in between runs the task
		// again, and the pool drops the second result.
		for _, m := range s.msgs {
			if ok {
				m.Ack()
			} else {
				m.Nak()
			}
		}
		w.mu.Lock()
		for _, m := range s.msgs {
			delete(w.held, m)
		}
		w.mu.Unlock()
		w.unsettled.Done()
	}
}

// runBatch runs the tasks of batch as they arrive and publishes their
// results without waiting, several tasks of one pool in one message
// (every 16 tasks or 2 ms); the acker acknowledges each task once its
// results are stored. Before a task delivered before (its worker may
// have died of it), every task run so far is settled, so that if it kills
// this worker too it takes no finished task with it. It returns the
// number of tasks, size is the batch's (at most): the last one is
// published at once, not when the batch ends.
func (w *worker) runBatch(batch iter.Seq[*taskMsg], size int) int {
	type group struct {
		res   resultMsg
		msgs  []*taskMsg
		bytes int
	}
	var (
		groups = map[string]*group{}
		count  int
		since  = time.Now()
		n      int
	)
	flush := func() {
		for reply, g := range groups {
			data, err := wire.Marshal(&g.res)
			var f jetstream.PubAckFuture
			if err == nil {
				// No message ID: the pool drops the results of a task
				// it has (a task run twice), so the server need not.
				f, err = w.js.PublishAsync(reply, data)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: publishing results: %v\n", w.name, err)
				w.mu.Lock()
				for _, m := range g.msgs {
					m.Nak()
					delete(w.held, m)
				}
				w.mu.Unlock()
				continue
			}
			w.unsettled.Add(1)
			w.sents <- sent{g.msgs, f, time.Now()}
		}
		clear(groups)
		count, since = 0, time.Now()
	}
	for msg := range batch {
		n++
		w.more = msg.NumPending() > 0
		w.mu.Lock()
		w.held[msg] = struct{}{}
		w.mu.Unlock()
		suspect := msg.NumDelivered() > 1
		if suspect {
			flush()
			w.unsettled.Wait()
		}
		start := time.Now()
		reply, tr, size, ok, late := w.runOne(msg, suspect)
		took := time.Since(start)
		if w.avg == 0 {
			w.avg = took
		} else {
			w.avg += (took - w.avg) / 8
		}
		if !ok {
			w.mu.Lock()
			delete(w.held, msg) // given back or terminated
			w.mu.Unlock()
		}
		if g := groups[reply]; ok && g != nil && g.bytes+size > w.maxMsg/2 {
			flush() // one message must hold the group
		}
		if ok {
			g := groups[reply]
			if g == nil {
				g = &group{res: resultMsg{Worker: w.name}}
				groups[reply] = g
			}
			g.res.Tasks = append(g.res.Tasks, tr)
			g.msgs = append(g.msgs, msg)
			g.bytes += size
			count++
		}
		if count >= 16 || n == size || time.Since(since) > 2*time.Millisecond || late != nil {
			flush()
		}
		if late != nil {
			<-late // the late task's function, reported at its deadline
		}
	}
	flush()
	return n
}

// runOne runs the task in msg and returns its results and their encoded
// size; ok is false if msg was not a task (it is then terminated), failed
// to run (it is given back) or is a suspect (delivered before) that its
// pool says not to run (terminated: the pool failed it). Results too big
// for a message become an error for each item, which says so. late is
// RunTask's: the worker runs nothing else until it is closed.
func (w *worker) runOne(msg *taskMsg, suspect bool) (reply string, tr taskResult, size int, ok bool, late <-chan struct{}) {
	var t wire.Task
	reply, data, isTask := parseTaskData(msg.Data())
	if name := msg.Headers().Get(hdrObject); name != "" && isTask {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		b, err := w.big.get(ctx, name)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", w.name, err)
			msg.Nak() // another worker, or a later try, may read it
			return "", tr, 0, false, late
		}
		data = b
	}
	if !isTask || wire.Unmarshal(data, &t) != nil {
		msg.Term() // not a task of ours: never deliver it again
		return "", tr, 0, false, late
	}
	tr.Task = t.ID
	if suspect && !w.mayRun(reply, t.ID) {
		msg.Term()
		return "", tr, 0, false, late
	}
	ctx, cancel := context.WithCancel(context.Background())
	key := reply + " " + strconv.FormatUint(t.ID, 10)
	w.mu.Lock()
	w.running[key] = cancel
	w.mu.Unlock()
	ctx, ticks := w.startTicks(ctx, &t, reply)
	late, err := wk.RunTask(ctx, &t, false, func(r *wire.Results) error {
		tr.Results = append(tr.Results, *r)
		return nil
	})
	tr.Ticks = ticks()
	w.mu.Lock()
	delete(w.running, key)
	w.mu.Unlock()
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: task %d: %v\n", w.name, t.ID, err)
		msg.Nak()
		return "", tr, 0, false, late
	}
	size = encodedSize(&tr)
	if size > w.maxMsg/2 {
		// too big for a message: through the object store
		b, err := wire.Marshal(tr.Results)
		var name string
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			name, err = w.big.put(ctx, "result", b)
			cancel()
		}
		if err == nil {
			tr = taskResult{Task: t.ID, Object: name, Ticks: tr.Ticks}
			return reply, tr, 64 + len(name), true, late
		}
		err = fmt.Errorf("cluster: the results of this task are %d bytes, above half the cluster's message limit of %d, and the object store did not take them (%v)", size, w.maxMsg, err)
		zeros, _ := wire.Marshal(make([]any, t.N))
		r := wire.Results{ID: t.ID, N: t.N, Values: zeros}
		for i := range t.N {
			r.Errs = append(r.Errs, wire.ItemError{Index: i, Err: wire.Error{Msg: err.Error(), Type: "cluster.resultTooBig"}})
		}
		tr.Results = []wire.Results{r}
		size = encodedSize(&tr)
	}
	return reply, tr, size, true, late
}

// startTicks returns ctx carrying what counts the ticks of task t's items
// (mp.Tick), if t asks for them (its call has a progress bar): they are
// sent, summed, at most every wk.TickEvery on the core subject of the
// pool's ticks (fire and forget: one lost on a reconnect only holds the
// bar back until the results). done stops the sending and returns every
// tick counted, sent or not, for the results. Without Ticks, ctx is
// returned as it is and done returns 0: nothing is counted or sent.
func (w *worker) startTicks(ctx context.Context, t *wire.Task, reply string) (_ context.Context, done func() int64) {
	subject := poolSubject(ticksPrefix, reply)
	if !t.Ticks || subject == "" {
		return ctx, func() int64 { return 0 }
	}
	var sent int64 // by the sink's goroutine, read after Close
	ctx, sink := wk.StartTicks(ctx, t.ID, func(tk *wire.Tick) error {
		sent += tk.N
		if data, err := wire.Marshal(tk); err == nil {
			w.nc.Publish(subject, data) // an error loses progress only: the total goes with the results
		}
		return nil
	})
	return ctx, func() int64 {
		unsent := sink.Close() // first: sent is final once the sink stopped
		return sent + unsent
	}
}

// encodedSize bounds the size of tr encoded, without encoding it.
func encodedSize(tr *taskResult) int {
	n := 24
	for _, r := range tr.Results {
		n += 32 + len(r.Values)
		for _, e := range r.Errs {
			n += 16 + len(e.Err.Msg) + len(e.Err.Type) + len(e.Err.Stack)
		}
	}
	return n
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

// Work runs this process as a worker of the cluster at url, as a program
// started with MP_CLUSTER_WORKER=url does from mp.Main (credentials from
// MP_CLUSTER_CREDS, a CA from MP_CLUSTER_CA), and returns the
// exit status: 0 after SIGINT or SIGTERM (the task running finishes
// first), 1 if the cluster is lost for good. The functions it runs are
// those this program registered with mp.Register.
func Work(url string) int { return serve(url) }
