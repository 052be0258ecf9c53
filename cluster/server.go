package cluster

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server with JetStream, embedded in this process.
type Server struct {
	s   *server.Server
	dir string // the store, if we made it
}

// ServerOption configures StartServer.
type ServerOption func(*server.Options) error

// Listen sets the host and port the server listens on for clients
// (default 127.0.0.1 and a free port; port 0 is a free port too).
// Listening beyond loopback lets workers on other hosts connect: give it
// credentials too (Token, UserPassword).
func Listen(host string, port int) ServerOption {
	return func(o *server.Options) error {
		o.Host, o.Port = host, port
		if port == 0 {
			o.Port = server.RANDOM_PORT
		}
		return nil
	}
}

// StoreDir keeps JetStream's store in dir, which then survives the server
// (default: a temporary directory, removed at Shutdown).
func StoreDir(dir string) ServerOption {
	return func(o *server.Options) error { o.StoreDir = dir; return nil }
}

// Token makes clients authenticate with token (nats://TOKEN@host:port).
func Token(token string) ServerOption {
	return func(o *server.Options) error { o.Authorization = token; return nil }
}

// UserPassword makes clients authenticate as user with password
// (nats://user:password@host:port).
func UserPassword(user, password string) ServerOption {
	return func(o *server.Options) error { o.Username, o.Password = user, password; return nil }
}

// NkeyUsers lets clients authenticate with the nkeys whose public keys
// are given (users' keys, "U..."); pools and workers then need the seed
// (mp.ClusterCredentials, MP_CLUSTER_CREDS).
func NkeyUsers(publicKeys ...string) ServerOption {
	return func(o *server.Options) error {
		for _, k := range publicKeys {
			o.Nkeys = append(o.Nkeys, &server.NkeyUser{Nkey: k})
		}
		return nil
	}
}

// Routes makes the server one node of a NATS cluster: it listens for the
// other nodes on clusterPort (on the Listen host) and connects to routes
// ("nats-route://host:port" each), under the cluster name name.
// JetStream replicates across nodes.
func Routes(name string, clusterPort int, routes ...string) ServerOption {
	return func(o *server.Options) error {
		o.Cluster.Name = name
		o.Cluster.Host = o.Host
		o.Cluster.Port = clusterPort
		for _, r := range routes {
			if u, err := url.Parse(r); err == nil {
				o.Routes = append(o.Routes, u)
			}
		}
		return nil
	}
}

// TLS makes the server speak TLS to its clients with this certificate and
// key (PEM files); clients then use tls:// URLs and trust its authority
// (mp.ClusterCA, MP_CLUSTER_CA).
func TLS(certFile, keyFile string) ServerOption {
	return func(o *server.Options) error {
		cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: certFile, KeyFile: keyFile})
		if err != nil {
			return fmt.Errorf("cluster: TLS: %w", err)
		}
		o.TLSConfig, o.TLS, o.TLSTimeout = cfg, true, 5
		return nil
	}
}

// ServerName names the server (a cluster's nodes need distinct names).
func ServerName(name string) ServerOption {
	return func(o *server.Options) error { o.ServerName = name; return nil }
}

// StartServer starts a NATS server with JetStream in this process: on
// loopback and a free port, its store in a temporary directory, unless
// options say otherwise. `mp server` runs the same as a standalone
// process.
func StartServer(opts ...ServerOption) (*Server, error) {
	o := &server.Options{
		ServerName: "mp",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		NoLog:      true,
		NoSigs:     true,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.Cluster.Port != 0 && o.Cluster.Host == "" {
		o.Cluster.Host = o.Host
	}
	srv := &Server{}
	if o.StoreDir == "" {
		dir, err := os.MkdirTemp("", "mp-nats-")
		if err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		o.StoreDir, srv.dir = dir, dir
	}
	s, err := server.NewServer(o)
	if err != nil {
		srv.removeStore()
		return nil, fmt.Errorf("cluster: starting the NATS server: %w", err)
	}
	// NoLog: the server logs nothing of its own, but what stops it from
	// starting (a port taken) is its error, not a wait.
	log := &startLog{fatal: make(chan struct{})}
	s.SetLoggerV2(log, false, false, false)
	go s.Start()
	deadline := time.Now().Add(30 * time.Second)
	for !s.ReadyForConnections(50 * time.Millisecond) {
		var err error
		select {
		case <-log.fatal:
			err = fmt.Errorf("cluster: the NATS server cannot start: %s", log.last())
		default:
			if time.Now().After(deadline) {
				err = errors.New("cluster: the NATS server did not get ready within 30s")
				if last := log.last(); last != "" {
					err = fmt.Errorf("%w (its last error: %s)", err, last)
				}
			}
		}
		if err != nil {
			s.Shutdown()
			srv.removeStore()
			return nil, err
		}
	}
	srv.s = s
	return srv, nil
}

// startLog is an embedded server's logger: it keeps the last error, and
// closes fatal at the first fatal one (a listener that cannot listen).
type startLog struct {
	mu        sync.Mutex
	lastErr   string
	fatal     chan struct{}
	fatalOnce sync.Once
}

var _ server.Logger = (*startLog)(nil)

func (l *startLog) Noticef(string, ...any) {}
func (l *startLog) Warnf(string, ...any)   {}
func (l *startLog) Debugf(string, ...any)  {}
func (l *startLog) Tracef(string, ...any)  {}

func (l *startLog) Errorf(format string, v ...any) {
	l.mu.Lock()
	l.lastErr = fmt.Sprintf(format, v...)
	l.mu.Unlock()
}

func (l *startLog) Fatalf(format string, v ...any) {
	l.Errorf(format, v...)
	l.fatalOnce.Do(func() { close(l.fatal) })
}

func (l *startLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

// URL returns the address clients and workers connect to.
func (s *Server) URL() string { return s.s.ClientURL() }

// Shutdown stops the server and removes its temporary store.
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
	s.removeStore()
}

func (s *Server) removeStore() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
