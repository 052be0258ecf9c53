package wire

// Version is the protocol version a worker announces in its Hello; a pool
// refuses a worker with another.
const Version = 2

// Hello is a worker's first frame.
type Hello struct {
	Version int      `cbor:"1,keyasint"`
	PID     int      `cbor:"2,keyasint"`
	Names   []string `cbor:"3,keyasint"` // registered function names
	InitErr *Error   `cbor:"4,keyasint,omitempty"`
	// NoMain, set by a re-executed program that did not call mp.Main and
	// reached a call that would start processes (named here): it exits
	// at once instead, and the parent reports the missing mp.Main.
	NoMain string `cbor:"5,keyasint,omitempty"`
}

// Task asks a worker to run Func on each of the N arguments encoded, as
// one CBOR array, in Args, in order. The worker answers with Results
// frames covering the items in order: at least one a millisecond while
// items run, one per item when Careful is set.
type Task struct {
	ID   uint64 `cbor:"1,keyasint"`
	Func string `cbor:"2,keyasint"`
	Args []byte `cbor:"3,keyasint"`
	N    int    `cbor:"4,keyasint"`
	// Retries is how many more times an item that fails (error or
	// panic) is run before its error counts.
	Retries int `cbor:"5,keyasint,omitempty"`
	// Careful asks for a Results frame after every item: the pool then
	// knows exactly which item was running if the worker dies, and times
	// each item exactly.
	Careful bool `cbor:"6,keyasint,omitempty"`
	// Timeout, in nanoseconds, bounds each item's run: the worker itself
	// times it (a cluster worker, which the pool cannot kill) and reports
	// an item still running at its deadline as timed out at once.
	Timeout int64 `cbor:"7,keyasint,omitempty"`
	// Ticks says that the call has a progress bar: the worker sends the
	// ticks of the Task's items (mp.Tick) as Tick frames (a cluster
	// worker: as Tick messages on the pool's ticks subject, and their
	// total with the results). Without it a worker sends none.
	Ticks bool `cbor:"8,keyasint,omitempty"`
}

// Tick carries N progress ticks made by the items of task Task since the
// previous Tick: sent at most every 50 ms while the task runs, and, by a
// worker process, before its last Results (a cluster worker sends the
// task's total with its results instead).
type Tick struct {
	Task uint64 `cbor:"1,keyasint"`
	N    int64  `cbor:"2,keyasint"`
}

// Results reports items From to From+N-1 of task ID: their results as
// one CBOR array in Values (the zero value where the item failed), and the
// failures in Errs.
type Results struct {
	ID     uint64      `cbor:"1,keyasint"`
	From   int         `cbor:"2,keyasint"`
	N      int         `cbor:"3,keyasint"`
	Values []byte      `cbor:"4,keyasint"`
	Errs   []ItemError `cbor:"5,keyasint,omitempty"`
	// RSS is the worker's resident memory in bytes, sent with the last
	// Results of a task (Linux; 0 elsewhere).
	RSS uint64 `cbor:"6,keyasint,omitempty"`
	// Retried counts the runs of items again after a failure (the Task's
	// Retries) since the previous Results of the task, for the pool's
	// Stats.
	Retried int `cbor:"7,keyasint,omitempty"`
}

// ItemError is the failure of one item of a Results, by its index in the
// task.
type ItemError struct {
	Index int   `cbor:"1,keyasint"`
	Err   Error `cbor:"2,keyasint"`
}

// Error is an error or panic that happened in a worker.
type Error struct {
	Msg   string `cbor:"1,keyasint"`
	Type  string `cbor:"2,keyasint"`
	Stack string `cbor:"3,keyasint,omitempty"`
	Panic bool   `cbor:"4,keyasint,omitempty"`
}

// Setup tells a worker its number and the initializer to run, if any.
type Setup struct {
	Worker int    `cbor:"1,keyasint"`
	Init   string `cbor:"2,keyasint,omitempty"` // registered name
	Arg    []byte `cbor:"3,keyasint,omitempty"`
	// RSS asks for the worker's resident memory with the last Results of
	// each task (reading it costs a file read per task).
	RSS bool `cbor:"4,keyasint,omitempty"`
	// Name is the process's name (mp.CurrentProcess().Name()).
	Name string `cbor:"5,keyasint,omitempty"`
	// Daemon is the process's daemon flag.
	Daemon bool `cbor:"6,keyasint,omitempty"`
	// Process makes the worker an mp.Process: it runs one Task, sends its
	// Results and exits, with status 0 if the item succeeded and 1 if not.
	Process bool `cbor:"7,keyasint,omitempty"`
	// LogLevel is the lowest log/slog level the parent's logger takes:
	// records at or above it travel to the parent as Log frames.
	LogLevel int `cbor:"8,keyasint,omitempty"`
	// Parent is the name of the process that started the worker
	// (mp.ParentProcess().Name()).
	Parent string `cbor:"9,keyasint,omitempty"`
}

// Log is a log/slog record made in a worker, for the parent's logger.
// Task and Item name the item running when it was made (Task 0: none).
type Log struct {
	Time  int64     `cbor:"1,keyasint"` // Unix nanoseconds
	Level int       `cbor:"2,keyasint"`
	Msg   string    `cbor:"3,keyasint"`
	Attrs []LogAttr `cbor:"4,keyasint,omitempty"`
	Task  uint64    `cbor:"5,keyasint,omitempty"`
	Item  int       `cbor:"6,keyasint,omitempty"`
}

// LogAttr is one attribute of a Log, groups flattened into dotted keys.
// Exactly one of the values is meant, by Kind: 's' string, 'i' int64,
// 'u' uint64, 'f' float64, 'b' bool (I is 0 or 1), 'd' duration (I
// nanoseconds); anything else travels as its text in S.
type LogAttr struct {
	Key  string  `cbor:"1,keyasint"`
	Kind byte    `cbor:"2,keyasint"`
	S    string  `cbor:"3,keyasint,omitempty"`
	I    int64   `cbor:"4,keyasint,omitempty"`
	F    float64 `cbor:"5,keyasint,omitempty"`
}

// Ready answers Setup: the worker is ready, or its initializer failed.
type Ready struct {
	Err *Error `cbor:"1,keyasint,omitempty"`
}
