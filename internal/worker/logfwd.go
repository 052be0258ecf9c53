package worker

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/wire"
)

// Log records made in a worker process travel to the parent as Log
// frames on the result pipe, where the pool's Logger (a Process: the
// parent's slog.Default) handles them with the worker, its pid and the
// task added under the "mp" group. Only records the parent's logger
// would take cross (Setup.LogLevel).

// workerOut is a worker's end of the result ring, shared by the task loop
// and by log records made on any goroutine.
type workerOut struct {
	mu      sync.Mutex
	w       *wire.Writer
	scratch []byte // Results frames are encoded here
}

// send writes one message and flushes it.
func (o *workerOut) send(kind wire.Kind, msg any) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.write(kind, msg); err != nil {
		return err
	}
	return o.w.Flush()
}

// write encodes msg into the buffer; o.mu is held. Results have a frame
// layout of their own (wire.AppendResults), the rest is CBOR.
func (o *workerOut) write(kind wire.Kind, msg any) error {
	switch r := msg.(type) {
	case *wire.Results:
		return o.writeResults(kind, r)
	case wire.Results:
		return o.writeResults(kind, &r)
	}
	b, err := wire.Marshal(msg)
	if err != nil {
		return err
	}
	return o.w.Write(kind, b)
}

// writeResults writes r's frame with its values taken where they lie (a
// chunk of numbers: the link's stage); o.mu is held.
func (o *workerOut) writeResults(kind wire.Kind, r *wire.Results) error {
	head, tail, err := wire.ResultsParts(o.scratch[:0], r)
	if err != nil {
		return err
	}
	o.scratch = head[:0]
	return o.w.WriteParts(kind, head, r.Values, tail)
}

// Running names the item this worker process is running, for its log
// records: the Task's ID (0 between tasks) and the item's index in it.
// The typed loops of package mp (runBatch) store the item.
// The index costs an atomic store per item, a fifth of a trivial item's
// cost: in Tasks of more than 64 items it is kept only once the worker has
// made a log record (logging), so the first record a worker makes in such
// a Task names its function but not its item.
var Running struct {
	Task    atomic.Uint64
	Item    atomic.Int64
	Small   atomic.Bool // the Task has at most 64 items: Item is kept
	Logging atomic.Bool
	// Link is the worker's link to its pool (nil elsewhere): the running
	// item is marked there before it starts, and its results staged once
	// it is done.
	Link atomic.Pointer[Link]
}

// forwardLogs makes slog.Default send its records to the parent. The log
// package keeps writing to stderr, as it does in the parent.
func forwardLogs(out *workerOut, level slog.Level) {
	w, flags, prefix := log.Writer(), log.Flags(), log.Prefix()
	slog.SetDefault(slog.New(&forwardHandler{out: out, level: level}))
	log.SetOutput(w)
	log.SetFlags(flags)
	log.SetPrefix(prefix)
}

// forwardHandler is the slog.Handler of a worker process.
type forwardHandler struct {
	out   *workerOut
	level slog.Level
	group string         // prefix of keys: "g1.g2."
	attrs []wire.LogAttr // clipped, so that appends never share its array
}

func (h *forwardHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *forwardHandler) Handle(_ context.Context, r slog.Record) error {
	m := wire.Log{Level: int(r.Level), Msg: r.Message, Attrs: h.attrs}
	if !r.Time.IsZero() {
		m.Time = r.Time.UnixNano()
	}
	if t := Running.Task.Load(); t != 0 {
		m.Task, m.Item = t, int(Running.Item.Load())
		if !Running.Logging.Load() {
			Running.Logging.Store(true)
			if !Running.Small.Load() {
				m.Item = -1 // not kept until now
			}
		}
	}
	r.Attrs(func(a slog.Attr) bool {
		m.Attrs = appendLogAttr(m.Attrs, h.group, a)
		return true
	})
	return h.out.send(wire.KindLog, m)
}

func (h *forwardHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	for _, a := range as {
		h2.attrs = appendLogAttr(h2.attrs, h.group, a)
	}
	h2.attrs = slices.Clip(h2.attrs)
	return &h2
}

func (h *forwardHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group += name + "."
	return &h2
}

// appendLogAttr flattens a into wire attributes with keys under prefix.
func appendLogAttr(dst []wire.LogAttr, prefix string, a slog.Attr) []wire.LogAttr {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return dst
	}
	key := prefix + a.Key
	v := a.Value
	switch v.Kind() {
	case slog.KindGroup:
		p := prefix
		if a.Key != "" {
			p = key + "."
		}
		for _, g := range v.Group() {
			dst = appendLogAttr(dst, p, g)
		}
		return dst
	case slog.KindString:
		return append(dst, wire.LogAttr{Key: key, Kind: 's', S: v.String()})
	case slog.KindInt64:
		return append(dst, wire.LogAttr{Key: key, Kind: 'i', I: v.Int64()})
	case slog.KindUint64:
		return append(dst, wire.LogAttr{Key: key, Kind: 'u', I: int64(v.Uint64())})
	case slog.KindFloat64:
		return append(dst, wire.LogAttr{Key: key, Kind: 'f', F: v.Float64()})
	case slog.KindBool:
		b := int64(0)
		if v.Bool() {
			b = 1
		}
		return append(dst, wire.LogAttr{Key: key, Kind: 'b', I: b})
	case slog.KindDuration:
		return append(dst, wire.LogAttr{Key: key, Kind: 'd', I: int64(v.Duration())})
	case slog.KindTime:
		return append(dst, wire.LogAttr{Key: key, Kind: 't', I: v.Time().UnixNano()})
	default:
		return append(dst, wire.LogAttr{Key: key, Kind: 's', S: fmt.Sprint(v.Any())})
	}
}

// LowestLevel is the lowest of the usual levels l takes (a level above
// Error when it takes none of them).
func LowestLevel(l *slog.Logger) slog.Level {
	for _, lv := range []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if l.Enabled(context.Background(), lv) {
			return lv
		}
	}
	return slog.LevelError + 100
}

// EmitLog hands a worker's Log frame p to l, with the mp attributes
// that say where it came from. A malformed frame is dropped.
func EmitLog(l *slog.Logger, p []byte, where ...any) {
	var m wire.Log
	if wire.Unmarshal(p, &m) != nil {
		return
	}
	ctx := context.Background()
	if !l.Enabled(ctx, slog.Level(m.Level)) {
		return
	}
	t := time.Now()
	if m.Time != 0 {
		t = time.Unix(0, m.Time)
	}
	r := slog.NewRecord(t, slog.Level(m.Level), m.Msg, 0)
	for _, a := range m.Attrs {
		r.AddAttrs(slog.Attr{Key: a.Key, Value: logValue(a)})
	}
	r.AddAttrs(slog.Group("mp", where...))
	l.Handler().Handle(ctx, r)
}

func logValue(a wire.LogAttr) slog.Value {
	switch a.Kind {
	case 'i':
		return slog.Int64Value(a.I)
	case 'u':
		return slog.Uint64Value(uint64(a.I))
	case 'f':
		return slog.Float64Value(a.F)
	case 'b':
		return slog.BoolValue(a.I != 0)
	case 'd':
		return slog.DurationValue(time.Duration(a.I))
	case 't':
		return slog.TimeValue(time.Unix(0, a.I))
	default:
		return slog.StringValue(a.S)
	}
}
