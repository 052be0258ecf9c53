package manager

import (
	"fmt"
	"time"

	"github.com/mp-go/mp"
)

// Limits bound what clients can make a manager server hold, so that its
// memory follows what clients send: a small call never makes the server
// allocate much, and a client that has not proved it knows the authkey
// can make it allocate almost nothing. A zero field takes its default.
// The limits are the server's: set them with ServerLimits on Start or
// Serve.
type Limits struct {
	// Items bounds the items one message may make the server allocate:
	// an Array's length, the values of one batch message. Default 1<<20
	// (1,048,576): at most 24 MiB of slots per message. The server tells
	// its clients at the handshake, and proxies send a bigger batch
	// (NewList, SetMany, GetMany, Extend, PutMany…) in parts that the
	// server holds until the last arrives, then runs as one call: it
	// stays atomic, and the server never holds more than the client sent.
	// An Array above it fails with ErrLimit.
	Items int
	// Waiting bounds the calls that wait at once on one connection (a
	// Queue's Get or Put, a Lock, an Event's Wait, a Barrier…): each
	// costs the server a goroutine (about 5 KiB). Default 4,096 per
	// client process; the next one fails with ErrLimit.
	Waiting int
	// Handshakes bounds the connections that have not yet authenticated;
	// more are closed at once, without a word. Default 64.
	Handshakes int
	// HandshakeTimeout bounds how long a connection may take to
	// authenticate (and, with TLS, to make its TLS handshake). Default
	// 5 s.
	HandshakeTimeout time.Duration
}

// The default Limits.
const (
	defaultItems            = 1 << 20
	defaultWaiting          = 4096
	defaultHandshakes       = 64
	defaultHandshakeTimeout = 5 * time.Second
)

// The server (manager/internal/server) takes its own Limits type, with
// the same fields: Serve and Start's server process convert one into the
// other (server.Limits(l)), so a field added to one and not the other
// does not compile.

// ServerLimits sets the limits of the server that Start starts or that
// Serve runs (Connect ignores it: they are the server's).
func ServerLimits(l Limits) Option { return func(c *config) { c.limits = l } }

// withDefaults fills the zero fields; a negative one is an error.
func (l Limits) withDefaults() (Limits, error) {
	if l.Items < 0 || l.Waiting < 0 || l.Handshakes < 0 || l.HandshakeTimeout < 0 {
		return l, fmt.Errorf("%w: negative manager.Limits %+v", mp.ErrInvalidOption, l)
	}
	if l.Items == 0 {
		l.Items = defaultItems
	}
	if l.Waiting == 0 {
		l.Waiting = defaultWaiting
	}
	if l.Handshakes == 0 {
		l.Handshakes = defaultHandshakes
	}
	if l.HandshakeTimeout == 0 {
		l.HandshakeTimeout = defaultHandshakeTimeout
	}
	return l, nil
}
