package wire

// Messages between a manager server (package manager) and its clients,
// over a Unix socket. After the handshake (two Auth frames each way), a
// client sends Calls and the server answers each with one Reply, in any
// order: a call that waits (a queue's Get, a lock's Acquire) does not hold
// up the calls behind it.

// ManagerVersion is the manager protocol's version, checked in the
// handshake.
const ManagerVersion = 1

// Auth is a handshake frame. The server sends a Challenge; the client
// answers with the HMAC-SHA256 of it under the authkey in MAC and its own
// Challenge; the server checks, then answers that one in its MAC. Either
// side closes the connection on a wrong MAC.
type Auth struct {
	Version   int    `cbor:"1,keyasint"`
	Challenge []byte `cbor:"2,keyasint,omitempty"`
	MAC       []byte `cbor:"3,keyasint,omitempty"`
	Err       string `cbor:"4,keyasint,omitempty"`
	// Items is the server's limit of values per call (manager
	// Limits.Items), told in its answer: clients split bigger batches.
	Items int `cbor:"5,keyasint,omitempty"`
}

// Call asks the server to run operation Op on object Obj (0: the server
// itself: create, cancel, shutdown). Values travel encoded by the client,
// opaque to the server except where an operation must read them. Calls
// and Replies are encoded by AppendCall and AppendReply.
type Call struct {
	ID   uint64
	Obj  uint64
	Op   string
	Args [][]byte
	N    int64  // an index, count or size
	Name string // a kind, type or function name
	Key  string // an object's name
	Flag bool   // wait, or a second boolean
	M    int64  // a second index or count
}

// Reply answers the Call with the same ID: values, a number, a boolean,
// or an error.
type Reply struct {
	ID   uint64
	Vals [][]byte
	N    int64
	OK   bool
	Err  *CallError
}

// CallError is a failed Call: Code says which kind of failure (the
// client maps it to a sentinel error), Msg says what exactly.
type CallError struct {
	Code string
	Msg  string
}
