package manager

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/mp-go/mp"
)

// Serve runs a manager server in this process on ln until ctx ends or a
// client calls Shutdown, then closes ln and returns nil (Python's
// BaseManager(address, authkey).get_server().serve_forever()). Clients,
// in this process or any other, reach it with Connect(ctx, address,
// authkey): "tcp://host:port" for a TCP listener, the socket's path for a
// Unix one (make that private: the authkey is the only guard). Options:
// ServerTLS (Serve wraps ln in TLS with it), ServerLimits, MaxMessage.
//
//	ln, err := net.Listen("tcp", ":50000")
//	err = manager.Serve(ctx, ln, []byte("secret"))
//
// Objects are found by name (Named), as Python's registered typeids are:
// a client makes NewQueue[T](ctx, m, 0, manager.Named("jobs")) and every
// client gets the same queue.
func Serve(ctx context.Context, ln net.Listener, authkey []byte, opts ...Option) error {
	cfg, err := configure(opts)
	if err != nil {
		return err
	}
	if err := cfg.checkInit("manager.Serve"); err != nil {
		return err
	}
	if len(authkey) == 0 {
		return fmt.Errorf("%w: manager.Serve needs an authkey (Python's authkey=…): clients prove they know it", mp.ErrInvalidOption)
	}
	if cfg.tlsServer != nil {
		ln = tls.NewListener(ln, cfg.tlsServer)
	}
	s := newServer(authkey, cfg.max)
	s.lim = cfg.limits
	return s.serveUntil(ctx, ln)
}

// serveUntil serves on ln until ctx ends or a client calls Shutdown, and
// waits for the connections to end.
func (s *server) serveUntil(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, s.shutdown)
	defer stop()
	err := s.serve(ln)
	s.shutdown()
	s.wg.Wait()
	return err
}
