package ops

// The transport's own calls on object 0 of a server process, besides the
// manager's operations (ManagerOp): not operations of the table, as the
// NATS backend has no use for them.
//
// Batches bigger than one message: a server takes at most Limits.Items
// values, and MaxMessage bytes, in one message. A proxy call with more
// is sent in parts: each part is staged on the server, in the
// connection's memory, under a stage ID; the last part carries the call
// itself, which the server then runs on every staged value at once.
const (
	Cancel  = "cancel"  // N: the ID of a call that waits: end it
	Attach  = "attach"  // Args: a shared-memory ring to use from now on
	Ping    = "ping"    // → OK: the server answers
	Stage   = "stage"   // N: stage ID; Args: values to add to it
	Commit  = "commit"  // N: stage ID; Args: [the call, with its last values]
	Unstage = "unstage" // N: stage ID: drop it
)

// The shared-memory ring between a client and a server on a Unix
// socket: RingBytes in each direction; messages above RingMsg go on the
// socket.
const (
	RingBytes = 4 << 20
	RingMsg   = RingBytes / 4
)
