package manager

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager/internal/server"
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
	return server.New(authkey, cfg.max, server.Limits(cfg.limits)).ServeUntil(ctx, ln)
}
