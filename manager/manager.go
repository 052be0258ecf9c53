package manager

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/proc"
	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/server"
)

// Manager is a connection to a manager server: Start starts one (in a
// child process of this program) and Connect reaches one by its address.
// Make shared objects with its methods (Lock, Event, …) and with the
// generic functions of this package (NewDict, NewQueue, …).
type Manager struct {
	c    conn
	addr string
	key  []byte
	max  int
	proc *mp.Process // the server, if this Manager started it
	dir  string      // the server's private directory, if so

	once sync.Once
	err  error
}

// Option configures Start and Connect.
type Option func(*config)

type config struct {
	key     []byte
	max     int
	address string
	timeout time.Duration
	nats    string // Cluster's URL
	bucket  string
	network string // Listen's; "" is a Unix socket
	limits  Limits
	// TLS and ServerTLS's
	tlsClient, tlsServer *tls.Config
	// Initializer's, or why it cannot be
	init    *serverInit
	initErr error
}

// AuthKey sets the key that clients must prove they know (Python's
// authkey). Start makes a random 32-byte key without it; Connect needs
// the server's.
func AuthKey(key []byte) Option { return func(c *config) { c.key = key } }

// MaxMessage bounds the size of a call and of a reply, in bytes (64 MiB
// unless set); the server and its clients must agree. A bigger call is
// refused before it is sent, with ErrTooBig.
func MaxMessage(n int) Option { return func(c *config) { c.max = n } }

// Address makes Start listen on this Unix socket path, so that unrelated
// processes can Connect to a known address; the directory must exist and
// should be private. Without it, Start makes a private directory (mode
// 0700) in os.TempDir.
func Address(path string) Option { return func(c *config) { c.address = path } }

// StartTimeout bounds how long Start waits for the server to listen (10 s
// unless set).
func StartTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

func configure(opts []Option) (*config, error) {
	cfg := &config{max: wire.DefaultMaxFrame, timeout: 10 * time.Second}
	for _, o := range opts {
		o(cfg)
	}
	if cfg.max < 1<<10 {
		return nil, fmt.Errorf("%w: MaxMessage(%d) is below 1 KiB", mp.ErrInvalidOption, cfg.max)
	}
	switch cfg.network {
	case "", "unix", "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("%w: manager.Listen(%q, …): the network must be tcp, tcp4, tcp6 or unix", mp.ErrInvalidOption, cfg.network)
	}
	var err error
	cfg.limits, err = cfg.limits.withDefaults()
	return cfg, err
}

// serveArgs is what the server process needs.
type serveArgs struct {
	Socket string `cbor:"1,keyasint"` // or host:port
	Key    []byte `cbor:"2,keyasint"`
	Max    int    `cbor:"3,keyasint"`
	Limits Limits `cbor:"4,keyasint"`
	// Listen's network ("" is unix); for TCP, the file to write the
	// address to, and the certificate for TLS
	Network  string      `cbor:"5,keyasint,omitempty"`
	AddrFile string      `cbor:"6,keyasint,omitempty"`
	TLS      *serverCert `cbor:"7,keyasint,omitempty"`
	Init     *serverInit `cbor:"8,keyasint,omitempty"` // Initializer's
}

// serveFunc is the server process's function.
var serveFunc = mp.Register("mp.manager.serve", func(ctx context.Context, a serveArgs) (struct{}, error) {
	if err := a.Init.run(ctx); err != nil {
		return struct{}{}, err
	}
	ln, err := a.listen()
	if err != nil {
		return struct{}{}, err
	}
	return struct{}{}, server.New(a.Key, a.Max, server.Limits(a.Limits)).ServeUntil(ctx, ln)
})

// Start starts a manager server in a child process of this program (which
// must call mp.Main first thing in main, as for a process pool) and
// connects to it. The server listens on a Unix socket of mode 0600 in a
// private directory, authenticates every client with the authkey, and
// dies with this process; Shutdown stops it. ctx bounds the start only:
// if it ends before the server listens, the server is killed.
func Start(ctx context.Context, opts ...Option) (*Manager, error) {
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	if cfg.nats != "" {
		if err := cfg.checkInit("manager.Cluster"); err != nil {
			return nil, err
		}
		return startNATS(ctx, cfg.nats, cfg)
	}
	if err := cfg.checkInit(""); err != nil {
		return nil, err
	}
	if cfg.key == nil {
		cfg.key = make([]byte, 32)
		rand.Read(cfg.key)
	}
	m := &Manager{key: cfg.key, max: cfg.max}
	args := serveArgs{Key: m.key, Max: m.max, Limits: cfg.limits, Network: cfg.network, Socket: cfg.address, Init: cfg.init}
	tcp := cfg.network != "" && cfg.network != "unix"
	if tcp {
		if args.TLS, err = startTLS(cfg); err != nil {
			return nil, err
		}
	}
	if tcp || cfg.address == "" {
		sweepDirs()
		m.dir, err = os.MkdirTemp("", "mp-manager-"+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			return nil, fmt.Errorf("manager: %w", err)
		}
	}
	switch {
	case tcp:
		// The server writes the address it bound (port 0 picks one)
		// there; await reads it.
		args.AddrFile = filepath.Join(m.dir, "address")
	case cfg.address == "":
		args.Socket = filepath.Join(m.dir, "socket")
	}
	if !tcp {
		m.addr = args.Socket
		if len(m.addr) > 100 {
			m.cleanup()
			return nil, fmt.Errorf("manager: the socket path %q is too long for a Unix socket (set TMPDIR shorter, or use manager.Address)", m.addr)
		}
	}
	m.proc, err = mp.NewProcess(serveFunc, args, mp.ProcessName("Manager"), mp.Daemon(true))
	if err == nil {
		// ctx bounds the start, not the server's life (see await)
		err = m.proc.Start(context.WithoutCancel(ctx))
	}
	if err != nil {
		m.cleanup()
		return nil, fmt.Errorf("manager: starting the server: %w", err)
	}
	if err := m.await(ctx, cfg); err != nil {
		m.proc.Kill()
		m.proc.Join(context.Background())
		m.cleanup()
		return nil, err
	}
	return m, nil
}

// await connects to the new server, retrying while it starts.
func (m *Manager) await(ctx context.Context, cfg *config) error {
	timeout := cfg.timeout
	deadline := time.Now().Add(timeout)
	wait := 100 * time.Microsecond
	for {
		err := fmt.Errorf("%w: the server has not said its address yet", ErrServerGone)
		if m.addr == "" {
			m.addr = readAddr(m.dir) // a TCP server's, once it listens
		}
		var c *client
		if m.addr != "" {
			c = clientFor(m.addr, m.key, m.max)
			c.useTLS(startClientTLS(cfg))
			err = c.connect(ctx)
		}
		if err == nil {
			m.c = c
			return nil
		}
		if c != nil {
			c.close()
		}
		if !errors.Is(err, ErrServerGone) {
			return err
		}
		select {
		case <-m.proc.Sentinel():
			jerr := m.proc.Join(context.Background())
			return fmt.Errorf("manager: the server process ended before listening: %v", jerr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("manager: the server did not listen within %v: %w", timeout, err)
		}
		wait = min(2*wait, 10*time.Millisecond)
	}
}

// Connect connects to the manager server at address with its authkey
// (Python's BaseManager(address, authkey).connect()): a Unix socket path
// (Manager.Address of a manager started here), "tcp://host:port" for a
// server listening on TCP (Listen, Serve; add TLS if it uses TLS), or a
// NATS URL (Cluster). Registered types and update functions must be the
// same on both sides (the same program, or one sharing those packages).
// A wrong key is an error wrapping ErrAuth.
func Connect(ctx context.Context, address string, authkey []byte, opts ...Option) (*Manager, error) {
	cfg, err := configure(opts)
	if err != nil {
		return nil, err
	}
	if isNATS(address) {
		return startNATS(ctx, address, cfg)
	}
	m := &Manager{addr: address, key: authkey, max: cfg.max}
	c := newClient(address, authkey, cfg.max) // its own: Close closes it
	c.useTLS(cfg.tlsClient)
	if err := c.connect(ctx); err != nil {
		c.close()
		return nil, err
	}
	m.c = c
	return m, nil
}

// Address returns the server's address, for Connect: its Unix socket's
// path, or "tcp://host:port" for a server started with Listen("tcp", …).
func (m *Manager) Address() string { return m.addr }

// AuthKey returns the key clients must know, for Connect.
func (m *Manager) AuthKey() []byte { return m.key }

// Shutdown stops the server: every proxy call, in any process, then
// returns ErrServerGone. For a Manager made by Start, it waits for the
// server process to end (killing it if ctx ends first) and removes its
// directory. Shutdown is idempotent.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.once.Do(func() {
		_, err := m.c.call(ctx, &wire.Call{Op: string(ops.ManagerShutdown)})
		if err != nil && !errors.Is(err, ErrServerGone) {
			m.err = err
		}
		m.c.close()
		if m.proc != nil {
			t := time.NewTimer(shutdownGrace)
			defer t.Stop()
			select {
			case <-m.proc.Sentinel():
			case <-ctx.Done():
				m.err = fmt.Errorf("manager: the server did not stop in time, killed: %w", ctx.Err())
			case <-t.C: // it did not get the request: the connection was lost
			}
			m.proc.Kill()
			m.proc.Join(context.Background())
		}
		m.cleanup()
	})
	return m.err
}

// shutdownGrace bounds the wait for a server told to shut down.
const shutdownGrace = 10 * time.Second

// Close closes this process's connection to the server: proxies in this
// process then return ErrServerGone. For a Manager made by Start, Close is
// Shutdown, as leaving Python's `with Manager() as m:` block is.
func (m *Manager) Close() error {
	if m.proc != nil {
		return m.Shutdown(context.Background())
	}
	m.once.Do(m.c.close)
	return nil
}

func (m *Manager) cleanup() {
	if m.dir != "" {
		os.RemoveAll(m.dir)
	}
}

// sweepDirs removes the private directories of managers whose process
// died without Shutdown (a SIGKILL leaves them; the server died with it).
func sweepDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "mp-manager-*-*"))
	for _, d := range dirs {
		f := strings.Split(filepath.Base(d), "-")
		if len(f) != 4 {
			continue
		}
		pid, err := strconv.Atoi(f[2])
		if err != nil || pid == os.Getpid() || proc.Alive(pid) {
			continue
		}
		os.RemoveAll(d) // fails harmlessly on another user's
	}
}

// create asks the server for a new object of kind (or the one named key).
func (m *Manager) create(ctx context.Context, call *wire.Call, opts []ObjectOption) (proxy, error) {
	var oc objectConfig
	for _, o := range opts {
		o(&oc)
	}
	call.Op, call.Key = "new", oc.name
	rep, err := m.c.call(ctx, call)
	if err != nil {
		return proxy{}, err
	}
	return proxy{c: m.c, id: uint64(rep.N), kind: call.Name}, nil
}

// ObjectOption configures the making of a shared object.
type ObjectOption func(*objectConfig)

type objectConfig struct{ name string }

// Named gives the object a name on its server: making an object with a
// name that exists returns the existing object (of the same kind, or an
// error), so that processes that only know the manager's address can
// share it.
func Named(name string) ObjectOption { return func(c *objectConfig) { c.name = name } }

// proxy is what every proxy is: the server's client, and the object's id
// and kind. Proxies are handles: they encode (CBOR) as the server's
// address and key and the object's id, so a proxy passed to a Process or
// a pool task reaches the same object from there.
type proxy struct {
	c    conn
	id   uint64
	kind string
}

type handle struct {
	Addr string `cbor:"1,keyasint"`
	Key  []byte `cbor:"2,keyasint"`
	ID   uint64 `cbor:"3,keyasint"`
	Kind string `cbor:"4,keyasint"`
	Max  int    `cbor:"5,keyasint,omitempty"`
	// a NATS-backed manager: its URL and bucket
	NATS   string `cbor:"6,keyasint,omitempty"`
	Bucket string `cbor:"7,keyasint,omitempty"`
	// a manager on TLS: its certificate, which the server must present
	TLSCert []byte `cbor:"8,keyasint,omitempty"`
}

func (p *proxy) do(ctx context.Context, call *wire.Call) (*wire.Reply, error) {
	if p.c == nil {
		return nil, errZero
	}
	call.Obj = p.id
	return p.c.call(ctx, call)
}

func (p *proxy) marshal() ([]byte, error) {
	if p.c == nil {
		return nil, errZero
	}
	h := p.c.handle()
	h.ID, h.Kind = p.id, p.kind
	return wire.Marshal(h)
}

func (p *proxy) unmarshal(b []byte, kind string) error {
	var h handle
	if err := wire.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("manager: malformed proxy: %w", err)
	}
	if h.Kind != kind {
		return fmt.Errorf("manager: a proxy of a %s where a %s was expected", h.Kind, kind)
	}
	if h.ID == 0 || (h.Addr == "" && h.NATS == "") {
		return errors.New("manager: malformed proxy: no address or object")
	}
	if h.NATS != "" {
		*p = proxy{c: natsConnFor(h.NATS, h.Bucket), id: h.ID, kind: h.Kind}
		return nil
	}
	if h.Max == 0 {
		h.Max = wire.DefaultMaxFrame
	}
	c := clientFor(h.Addr, h.Key, h.Max)
	if h.TLSCert != nil {
		c.pinTLS(h.TLSCert)
	}
	*p = proxy{c: c, id: h.ID, kind: h.Kind}
	return nil
}
