package mp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/authkey"
	"github.com/mp-go/mp/internal/wire"
)

// ErrAuthentication is wrapped by the errors of Dial and Accept when the
// other side does not know the authkey (Python's AuthenticationError).
var ErrAuthentication = errors.New("mp: authentication failed")

// handshakeTimeout bounds the authkey handshake of Dial and Accept, which
// a peer that is not an mp Conn (or has no authkey) never completes.
const handshakeTimeout = 20 * time.Second

// Listener accepts connections from Dial (Python's
// multiprocessing.connection.Listener): each is a *Conn[T] whose Send,
// Recv, SendBytes, RecvBytes, RecvBytesInto, Poll and Close work as on a
// Pipe's end, and which WaitReady waits on.
type Listener[T any] struct {
	l      net.Listener
	key    []byte
	tmpdir string // made by Listen for an empty "unix" address
	closed atomic.Bool
}

// Listen listens on network "unix" (a socket file) or "tcp" ("tcp4",
// "tcp6") at address (Python's Listener(address, family, authkey=...)).
// An empty address picks a free one, as Python's does: a new socket file
// in a temporary directory, or a free port on 127.0.0.1; Addr says which.
//
// With an authkey, Accept admits only a peer that Dials with the same
// key, and Dial only a Listener that has it: each side proves it knows
// the key with HMAC-SHA256 over a random challenge from the other (as
// Python's deliver_challenge/answer_challenge). With a nil authkey there
// is no handshake, as in Python: use one on anything but loopback.
func Listen[T any](ctx context.Context, network, address string, authkey []byte) (*Listener[T], error) {
	var tmpdir string
	switch network {
	case "unix":
		if address == "" {
			dir, err := os.MkdirTemp("", "mp-listener-")
			if err != nil {
				return nil, fmt.Errorf("mp: Listen: %w", err)
			}
			tmpdir, address = dir, filepath.Join(dir, "sock")
		}
	case "tcp", "tcp4", "tcp6":
		if address == "" {
			address = "127.0.0.1:0"
		}
	default:
		return nil, fmt.Errorf("mp: Listen: network %q: use \"unix\" or \"tcp\"", network)
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, network, address)
	if err != nil {
		if tmpdir != "" {
			os.Remove(tmpdir)
		}
		return nil, fmt.Errorf("mp: Listen: %w", err)
	}
	return &Listener[T]{l: l, key: authkey, tmpdir: tmpdir}, nil
}

// Addr returns the address listened on (Python's Listener.address): give
// its Network() and String() to Dial.
func (l *Listener[T]) Addr() net.Addr { return l.l.Addr() }

// Close stops listening (Python's Listener.close); a "unix" socket file is
// removed. Conns already accepted stay open. Closing twice does nothing.
func (l *Listener[T]) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	err := l.l.Close()
	if l.tmpdir != "" {
		os.Remove(l.tmpdir)
	}
	return err
}

// Closed reports whether Close was called.
func (l *Listener[T]) Closed() bool { return l.closed.Load() }

type deadliner interface{ SetDeadline(time.Time) error }

// Accept waits for a connection until ctx ends (Python's accept) and
// returns it once the authkey handshake succeeded. A peer that fails the
// handshake is disconnected and Accept returns an error wrapping
// ErrAuthentication; the Listener goes on listening. After Close it
// returns an error wrapping net.ErrClosed.
func (l *Listener[T]) Accept(ctx context.Context) (*Conn[T], error) {
	d, _ := l.l.(deadliner)
	for {
		var stop func() bool
		if d != nil {
			stop = context.AfterFunc(ctx, func() { d.SetDeadline(time.Unix(1, 0)) })
		}
		nc, err := l.l.Accept()
		if stop != nil && !stop() && ctx.Err() == nil {
			d.SetDeadline(time.Time{})
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				d.SetDeadline(time.Time{})
				continue // another Accept's context ended
			}
			return nil, fmt.Errorf("mp: Accept: %w", err)
		}
		return newSocketConn[T](ctx, nc, l.key, true)
	}
}

// Dial connects to a Listener at address on network "unix" or "tcp"
// (Python's multiprocessing.connection.Client(address, authkey=...)),
// waiting until ctx ends, and runs the authkey handshake: a Listener
// without the same key is an error wrapping ErrAuthentication. The Conn
// works as a Pipe's duplex end; it cannot be sent to another process.
func Dial[T any](ctx context.Context, network, address string, authkey []byte) (*Conn[T], error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("mp: Dial: %w", err)
	}
	return newSocketConn[T](ctx, nc, authkey, false)
}

// newSocketConn runs the handshake (when there is a key) and returns the
// Conn over nc; it closes nc on failure.
func newSocketConn[T any](ctx context.Context, nc net.Conn, key []byte, server bool) (*Conn[T], error) {
	r := wire.NewReader(nc, wire.MaxAuthFrame)
	w := wire.NewWriter(nc, wire.DefaultMaxFrame)
	if key != nil {
		nc.SetDeadline(time.Now().Add(handshakeTimeout))
		stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
		var err error
		if server {
			err = authkey.Server(r, w, key, connVersion, "mp", wire.Auth{})
		} else {
			_, err = authkey.Client(r, w, key, connVersion)
		}
		stop()
		if err != nil {
			nc.Close()
			return nil, handshakeErr(ctx, err, server)
		}
		nc.SetDeadline(time.Time{})
	}
	r.SetMax(wire.DefaultMaxFrame)
	return &Conn[T]{sock: newSockConn(nc, r, w)}, nil
}

func handshakeErr(ctx context.Context, err error, server bool) error {
	who := "Dial"
	if server {
		who = "Accept"
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("mp: %s: during the authkey handshake: %w", who, ctx.Err())
	case errors.As(err, new(*authkey.PeerError)):
		return fmt.Errorf("%w: %s: %w", ErrAuthentication, who, err)
	case errors.Is(err, authkey.ErrNoAnswer):
		return fmt.Errorf("%w: %s: %w (wrong authkey?)", ErrAuthentication, who, err)
	case errors.Is(err, authkey.ErrWrongKey):
		if server {
			return fmt.Errorf("%w: the peer does not know the authkey (%s)", ErrAuthentication, err)
		}
		return fmt.Errorf("%w: the Listener does not know this authkey (%s)", ErrAuthentication, err)
	case errors.Is(err, authkey.ErrNotHandshake):
		return fmt.Errorf("%w: %s: the peer sent no handshake: Dial with the Listener's authkey", ErrAuthentication, who)
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fmt.Errorf("%w: %s: no handshake within %v (does the other side have an authkey? both or neither must)", ErrAuthentication, who, handshakeTimeout)
		}
		return fmt.Errorf("%w: %s: during the handshake: %w", ErrAuthentication, who, err)
	}
}
