package manager_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager"
)

// startTCP starts a manager server process listening on loopback TCP.
func startTCP(t *testing.T, opts ...manager.Option) *manager.Manager {
	t.Helper()
	m, err := manager.Start(testCtx(t), append([]manager.Option{manager.Listen("tcp", "127.0.0.1:0")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return m
}

// tcpJob is what a child process gets: the manager's address and key
// (to connect as Python's BaseManager(address, authkey).connect() does),
// and proxies.
type tcpJob struct {
	Addr string
	Key  []byte
	D    *manager.Dict[string, int]
	Q    *manager.Queue[int]
	L    *manager.Lock
	X    *manager.Value[int] // incremented under L
}

// tcpWork connects by address (with TLS if the test says so by a
// non-empty CA), then uses the proxies it was given.
var tcpWork = mp.Register("manager-test.tcp-work", func(ctx context.Context, j tcpJob) (int, error) {
	m, err := manager.Connect(ctx, j.Addr, j.Key, connectOpts()...)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	named, err := manager.NewDict[string, int](ctx, m, manager.Named("by-name"))
	if err != nil {
		return 0, err
	}
	if _, err := named.Update(ctx, "hits", manager.Add(1)); err != nil {
		return 0, err
	}
	for range 20 {
		if _, err := j.D.Update(ctx, "hits", manager.Add(1)); err != nil {
			return 0, err
		}
		if err := j.L.Lock(ctx); err != nil {
			return 0, err
		}
		x, err := j.X.Get(ctx)
		if err == nil {
			err = j.X.Set(ctx, x+1)
		}
		if uerr := j.L.Unlock(); err == nil {
			err = uerr
		}
		if err != nil {
			return 0, err
		}
	}
	return os.Getpid(), j.Q.Put(ctx, os.Getpid())
})

// connectOpts are the child's Connect options: TLS with the test's CA,
// which the parent passes in the environment (children inherit it).
func connectOpts() []manager.Option {
	pem := os.Getenv("MP_TEST_MANAGER_CA")
	if pem == "" {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(pem))
	return []manager.Option{manager.TLS(&tls.Config{RootCAs: pool})}
}

// useProxiesFromChildren runs tcpWork in 3 child processes (re-executions
// of the test binary) and checks what they did.
func useProxiesFromChildren(t *testing.T, ctx context.Context, m *manager.Manager) {
	t.Helper()
	d, err := manager.NewDict[string, int](ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := manager.NewQueue[int](ctx, m, 0)
	l, _ := m.Lock(ctx)
	x, _ := manager.NewValue(ctx, m, 0)
	var procs []*mp.Process
	for range 3 {
		p, err := mp.NewProcess(tcpWork, tcpJob{m.Address(), m.AuthKey(), d, q, l, x})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
	}
	var pids []int
	for range procs {
		pid, err := q.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	for _, p := range procs {
		if err := p.Join(ctx); err != nil {
			t.Fatalf("child: %v", err)
		}
		if !slices.Contains(pids, p.Pid()) {
			t.Errorf("child %d put no item (got %v)", p.Pid(), pids)
		}
	}
	if n, _, _ := d.Get(ctx, "hits"); n != 60 {
		t.Errorf("dict counter = %d, want 60", n)
	}
	if n, _ := x.Get(ctx); n != 60 {
		t.Errorf("counter under the lock = %d, want 60", n)
	}
	named, _ := manager.NewDict[string, int](ctx, m, manager.Named("by-name"))
	if n, _, _ := named.Get(ctx, "hits"); n != 3 {
		t.Errorf("named dict counter = %d, want 3", n)
	}
}

// CPython: _TestRemoteManager.test_remote (a manager on TCP, reached by
// address and authkey from another process).
func TestTCPManager(t *testing.T) {
	ctx := testCtx(t)
	m := startTCP(t, manager.AuthKey([]byte("tcp key")))
	if !strings.HasPrefix(m.Address(), "tcp://127.0.0.1:") {
		t.Fatalf("Address() = %q, want tcp://127.0.0.1:port", m.Address())
	}
	useProxiesFromChildren(t, ctx, m)
}

func TestTCPWrongAuthkey(t *testing.T) {
	ctx := testCtx(t)
	m := startTCP(t)
	_, err := manager.Connect(ctx, m.Address(), []byte("not the key"))
	if !errors.Is(err, manager.ErrAuth) || !strings.Contains(err.Error(), "wrong authkey") {
		t.Fatalf("Connect with a wrong authkey: %v, want ErrAuth saying wrong authkey", err)
	}
	// Nothing listening: a clear error, at once.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := "tcp://" + ln.Addr().String()
	ln.Close()
	if _, err := manager.Connect(ctx, addr, []byte("k")); !errors.Is(err, manager.ErrServerGone) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Connect to nothing: %v", err)
	}
}

// serveTCP runs Serve in this process on loopback, until the test ends.
func serveTCP(t *testing.T, key []byte, opts ...manager.Option) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- manager.Serve(ctx, ln, key, opts...) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return 30 s after its context ended")
		}
	})
	return "tcp://" + ln.Addr().String()
}

// CPython: the documentation's "Using a remote manager" (serve_forever in
// one process, connect from others).
func TestServeInThisProcess(t *testing.T) {
	ctx := testCtx(t)
	key := []byte("served here")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- manager.Serve(context.Background(), ln, key) }()
	m, err := manager.Connect(ctx, "tcp://"+ln.Addr().String(), key)
	if err != nil {
		t.Fatal(err)
	}
	useProxiesFromChildren(t, ctx, m)
	// A client's Shutdown ends serve_forever.
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return after a client's Shutdown")
	}
	if err := manager.Serve(ctx, ln, nil); !errors.Is(err, mp.ErrInvalidOption) {
		t.Fatalf("Serve without an authkey: %v", err)
	}
}

// testPKI makes a CA and a certificate for 127.0.0.1 signed by it.
func testPKI(t *testing.T) (caPEM []byte, pool *x509.CertPool, server tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mp test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "manager"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, pool, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
}

func TestTLS(t *testing.T) {
	ctx := testCtx(t)
	caPEM, pool, cert := testPKI(t)
	t.Setenv("MP_TEST_MANAGER_CA", string(caPEM)) // the children's Connect
	key := []byte("tls key")
	serverCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	clientCfg := &tls.Config{RootCAs: pool}

	t.Run("Serve", func(t *testing.T) {
		addr := serveTCP(t, key, manager.ServerTLS(serverCfg), manager.ServerLimits(manager.Limits{HandshakeTimeout: 2 * time.Second}))
		m, err := manager.Connect(ctx, addr, key, manager.TLS(clientCfg))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		useProxiesFromChildren(t, ctx, m)

		// Without TLS: refused with a hint, not a hang.
		start := time.Now()
		_, err = manager.Connect(ctx, addr, key)
		if err == nil || !strings.Contains(err.Error(), "TLS") {
			t.Fatalf("Connect without TLS to a TLS server: %v", err)
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("Connect without TLS took %v", time.Since(start))
		}
		// A server that the client's CA did not sign is refused.
		_, other, _ := testPKI(t)
		if _, err := manager.Connect(ctx, addr, key, manager.TLS(&tls.Config{RootCAs: other})); !errors.Is(err, manager.ErrAuth) {
			t.Fatalf("Connect to a server of another CA: %v, want ErrAuth", err)
		}
		// TLS to a server without TLS: an error, not a hang.
		plain := serveTCP(t, key)
		if _, err := manager.Connect(ctx, plain, key, manager.TLS(clientCfg)); err == nil {
			t.Fatal("Connect with TLS to a server without TLS succeeded")
		}
	})
	t.Run("Start", func(t *testing.T) {
		// The server in a child process; this process trusts its
		// certificate exactly, the children verify it with the CA.
		m := startTCP(t, manager.AuthKey(key), manager.ServerTLS(serverCfg))
		useProxiesFromChildren(t, ctx, m)
		if _, err := manager.Connect(ctx, m.Address(), key); err == nil {
			t.Fatal("Connect without TLS to Start's TLS server succeeded")
		}
	})
	t.Run("StartRefusesClientCAs", func(t *testing.T) {
		_, err := manager.Start(ctx, manager.Listen("tcp", "127.0.0.1:0"), manager.ServerTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool}))
		if !errors.Is(err, mp.ErrInvalidOption) || !strings.Contains(err.Error(), "manager.Serve") {
			t.Fatalf("Start with ClientCAs: %v", err)
		}
	})
}

// CPython: _TestManagerRestart.test_rapid_restart (a new manager on the
// address of one just shut down).
func TestTCPRestartOnSameAddress(t *testing.T) {
	ctx := testCtx(t)
	key := []byte("restart")
	m, err := manager.Start(ctx, manager.Listen("tcp", "127.0.0.1:0"), manager.AuthKey(key))
	if err != nil {
		t.Fatal(err)
	}
	addr := m.Address()
	q, _ := manager.NewQueue[string](ctx, m, 0, manager.Named("q"))
	q.Put(ctx, "before")
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Get(ctx); !errors.Is(err, manager.ErrServerGone) {
		t.Fatalf("a proxy of the stopped manager: %v", err)
	}
	m2 := startTCP(t, manager.Listen("tcp", strings.TrimPrefix(addr, "tcp://")), manager.AuthKey(key))
	if m2.Address() != addr {
		t.Fatalf("restarted on %s, want %s", m2.Address(), addr)
	}
	q2, err := manager.NewQueue[string](ctx, m2, 0, manager.Named("q"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := q2.Qsize(ctx); n != 0 {
		t.Fatalf("the restarted manager's queue has %d items, want a new empty one", n)
	}
	q2.Put(ctx, "after")
	if v, err := q2.Get(ctx); v != "after" || err != nil {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

// CPython: _TestMyManager.test_mymanager (registered types), over TCP.
func TestRegisteredTypeOverTCP(t *testing.T) {
	ctx := testCtx(t)
	m := startTCP(t)
	o, err := tallyType.New(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := mp.NewPool(mp.Processes(2))
	defer pool.Close()
	if _, err := mp.Map(ctx, pool, tallyJob, []*manager.Object[Tally]{o, o, o}); err != nil {
		t.Fatal(err)
	}
	top, err := tallyTop.Call(ctx, o, struct{}{})
	if err != nil || top["go"] != 300 {
		t.Fatalf("Top = %v %v", top, err)
	}
}

func TestTCPAddressInUse(t *testing.T) {
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = manager.Start(ctx, manager.Listen("tcp", ln.Addr().String()))
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start on a port in use: %v, want the server's error", err)
	}
	if _, err := manager.Start(ctx, manager.Listen("udp", "127.0.0.1:0")); !errors.Is(err, mp.ErrInvalidOption) {
		t.Fatalf("Listen on udp: %v", err)
	}
}

// remoteValues are CPython's _TestRemoteManager.values.
var remoteValues = []any{"hello world", nil, true, 2.25, "hallå världen", "привіт світ", []byte("hall\xe5 v\xe4rlden")}

type remoteAddr struct {
	Addr string
	Key  []byte
}

var remotePutter = mp.Register("manager-test.remote-putter", func(ctx context.Context, a remoteAddr) (struct{}, error) {
	m, err := manager.Connect(ctx, a.Addr, a.Key)
	if err != nil {
		return struct{}{}, err
	}
	defer m.Close()
	q, err := manager.NewQueue[[]any](ctx, m, 0, manager.Named("queue"))
	if err != nil {
		return struct{}{}, err
	}
	return struct{}{}, q.Put(ctx, remoteValues)
})

// CPython: _TestRemoteManager.test_remote (values of every kind through
// a remote manager's queue; an unencodable value is refused).
func TestRemoteManagerValues(t *testing.T) {
	ctx := testCtx(t)
	key := make([]byte, 32)
	rand.Read(key)
	m := startTCP(t, manager.AuthKey(key))
	p, err := mp.NewProcess(remotePutter, remoteAddr{m.Address(), key})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Join(ctx); err != nil { // its Put does not wait
		t.Fatal(err)
	}
	m2, err := manager.Connect(ctx, m.Address(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	q, err := manager.NewQueue[[]any](ctx, m2, 0, manager.Named("queue"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, remoteValues) {
		t.Fatalf("got %#v, want %#v", got, remoteValues)
	}
	if err := q.Put(ctx, []any{time.Sleep}); err == nil {
		t.Fatal("a func went into a remote queue")
	}
	if err := q.Put(ctx, []any{"still works"}); err != nil {
		t.Fatalf("after a refused value: %v", err)
	}
}

// Listen("unix", path) is Address(path): a known socket for unrelated
// processes.
func TestListenUnix(t *testing.T) {
	ctx := testCtx(t)
	path := filepath.Join(t.TempDir(), "m.sock")
	m := startTCP(t, manager.Listen("unix", path)) // the last Listen wins
	if m.Address() != path {
		t.Fatalf("Address() = %q, want %q", m.Address(), path)
	}
	c, err := manager.Connect(ctx, "unix://"+path, m.AuthKey())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d, _ := manager.NewDict[string, int](ctx, c, manager.Named("d"))
	if err := d.Set(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
}

// ServerLimits reach Start's server process; a call past one fails with
// ErrLimit, naming it, and the manager goes on; a batch past Items is
// sent in parts.
func TestServerLimitsReachTheServerProcess(t *testing.T) {
	ctx := testCtx(t)
	m, err := manager.Start(ctx, manager.ServerLimits(manager.Limits{Items: 10}))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	if _, err := manager.NewArray[int](ctx, m, 11); !errors.Is(err, manager.ErrLimit) || !strings.Contains(err.Error(), "Limits.Items") {
		t.Fatalf("an Array of 11 with Limits.Items 10: %v", err)
	}
	l, err := manager.NewList[int](ctx, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A batch is split by the proxy, and stays one call.
	if n, err := l.Extend(ctx, make([]int, 11)); n != 11 || err != nil {
		t.Fatalf("Extend by 11 with Limits.Items 10: %d, %v", n, err)
	}
	if _, err := l.Extend(ctx, make([]int, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := manager.Start(ctx, manager.ServerLimits(manager.Limits{Waiting: -1})); !errors.Is(err, mp.ErrInvalidOption) {
		t.Fatalf("negative limits: %v", err)
	}
}
