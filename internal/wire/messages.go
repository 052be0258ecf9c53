package wire

// Version is the protocol version a worker announces in its Hello; a pool
// refuses a worker with another.
const Version = 1

// Hello is a worker's first frame.
type Hello struct {
	Version int      `cbor:"1,keyasint"`
	PID     int      `cbor:"2,keyasint"`
	Names   []string `cbor:"3,keyasint"` // registered function names
	InitErr *Error   `cbor:"4,keyasint,omitempty"`
}

// Task asks a worker to run Func on each of Args, in order, reporting
// each item with a Result before starting the next.
type Task struct {
	ID   uint64   `cbor:"1,keyasint"`
	Func string   `cbor:"2,keyasint"`
	Args [][]byte `cbor:"3,keyasint"`
	// Retries is how many more times an item that fails (error or
	// panic) is run before its error counts.
	Retries int `cbor:"4,keyasint,omitempty"`
}

// Result is the outcome of item Index of task ID: Data (the encoded
// result) or Err.
type Result struct {
	ID    uint64 `cbor:"1,keyasint"`
	Index int    `cbor:"2,keyasint"`
	Data  []byte `cbor:"3,keyasint,omitempty"`
	Err   *Error `cbor:"4,keyasint,omitempty"`
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
}

// Ready answers Setup: the worker is ready, or its initializer failed.
type Ready struct {
	Err *Error `cbor:"1,keyasint,omitempty"`
}
