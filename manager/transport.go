package manager

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mp-go/mp"
)

// A manager server listens on a Unix socket (the default: private to
// this machine, and calls then travel on a shared-memory ring) or on TCP
// (Listen("tcp", …): Python's BaseManager(address=(host, port))), where
// calls and replies travel on the connection itself, optionally inside
// TLS. Addresses name the transport: "tcp://host:port", or a Unix socket
// path (also "unix:///path").

// handshakeTimeout bounds a client's handshake (TCP, TLS and the
// authkey's challenges); the server has its own, Limits.HandshakeTimeout.
const handshakeTimeout = 10 * time.Second

// Listen makes Start's server (or Serve's) listen on network ("tcp",
// "tcp4", "tcp6" or "unix") at address, as Python's
// BaseManager(address=(host, port)) does: manager.Listen("tcp",
// "127.0.0.1:50000"); port 0 picks a free port, which Manager.Address
// then tells ("tcp://127.0.0.1:41234"). Over TCP, every client proves it
// knows the authkey (HMAC both ways, as on the Unix socket) and calls
// travel on the connection; add ServerTLS to encrypt them. Listen on a
// public interface only with a strong authkey and TLS.
func Listen(network, address string) Option {
	return func(c *config) { c.network, c.address = network, address }
}

// TLS makes Connect (and Start's own connection to its server) speak TLS
// with cfg, a client configuration: RootCAs to verify the server
// (ServerName defaults to the address's host), Certificates for a server
// that asks for a client certificate. Proxies passed from this process to
// other processes carry the server's certificate, which those processes
// then require of the server exactly (pinning), so they need no
// configuration of their own; they present no client certificate.
func TLS(cfg *tls.Config) Option { return func(c *config) { c.tlsClient = cfg } }

// ServerTLS makes the server listen with TLS, with cfg a server
// configuration (Certificates, and ClientCAs with ClientAuth to require
// client certificates as well as the authkey). Start's server runs in a
// child process, so only cfg's Certificates (and MinVersion) reach it; a
// cfg with ClientCAs or certificate callbacks is for Serve, which runs
// the server in this process. Without TLS, Start's own connection then
// trusts exactly the certificate in cfg.
func ServerTLS(cfg *tls.Config) Option { return func(c *config) { c.tlsServer = cfg } }

// splitAddr returns the network and the address to dial of a manager's
// address.
func splitAddr(addr string) (network, address string) {
	if rest, ok := strings.CutPrefix(addr, "tcp://"); ok {
		return "tcp", rest
	}
	if rest, ok := strings.CutPrefix(addr, "unix://"); ok {
		return "unix", rest
	}
	return "unix", addr
}

// dial connects to the server at addr; over TCP with cfg (or pin, the
// server's certificate to require) it makes the TLS handshake too, and
// returns the server's certificate.
func dial(ctx context.Context, addr string, cfg *tls.Config, pin []byte) (net.Conn, []byte, error) {
	network, address := splitAddr(addr)
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%w: connecting to %s: %w", ErrServerGone, addr, err)
	}
	if cfg == nil && pin == nil {
		return nc, nil, nil
	}
	if network == "unix" {
		nc.Close()
		return nil, nil, fmt.Errorf("%w: TLS is for a manager on TCP, not on the Unix socket %s", mp.ErrInvalidOption, address)
	}
	if cfg == nil {
		cfg = pinned(pin)
	} else if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName, _, _ = net.SplitHostPort(address)
	}
	tc := tls.Client(nc, cfg)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		var ce *tls.CertificateVerificationError
		if errors.As(err, &ce) || errors.Is(err, errPinMismatch) {
			return nil, nil, fmt.Errorf("%w: the server at %s is not the one expected: %w", ErrAuth, addr, err)
		}
		return nil, nil, fmt.Errorf("%w: the TLS handshake with %s failed (a server without TLS, or a wrong configuration?): %w", ErrServerGone, addr, err)
	}
	return tc, tc.ConnectionState().PeerCertificates[0].Raw, nil
}

var errPinMismatch = errors.New("manager: the server's certificate is not the one its proxies name")

// pinned is a TLS configuration that accepts exactly the certificate
// cert: what a process that received a proxy knows of its server.
func pinned(cert []byte) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is checked below, against the one certificate
		// allowed: stricter than any CA.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || !bytes.Equal(raw[0], cert) {
				return errPinMismatch
			}
			return nil
		},
	}
}

// serverCert is what Start's server process needs of a ServerTLS
// configuration: the certificate chain and its private key.
type serverCert struct {
	Chain [][]byte `cbor:"1,keyasint"`
	Key   []byte   `cbor:"2,keyasint"` // PKCS #8
	Min   uint16   `cbor:"3,keyasint,omitempty"`
}

// exportCert extracts what Start's server needs of cfg.
func exportCert(cfg *tls.Config) (*serverCert, error) {
	if cfg.ClientCAs != nil || cfg.GetCertificate != nil || cfg.GetConfigForClient != nil || len(cfg.Certificates) != 1 {
		return nil, fmt.Errorf("%w: manager.ServerTLS for Start takes one certificate, and no ClientCAs or callbacks (they cannot reach the server's process; run the server in this process with manager.Serve)", mp.ErrInvalidOption)
	}
	c := cfg.Certificates[0]
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%w: manager.ServerTLS: the certificate's private key: %w", mp.ErrInvalidOption, err)
	}
	return &serverCert{Chain: c.Certificate, Key: key, Min: cfg.MinVersion}, nil
}

// config rebuilds the server's TLS configuration.
func (sc *serverCert) config() (*tls.Config, error) {
	key, err := x509.ParsePKCS8PrivateKey(sc.Key)
	if err != nil {
		return nil, fmt.Errorf("manager: the TLS key: %w", err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: sc.Chain, PrivateKey: key}},
		MinVersion:   max(sc.Min, tls.VersionTLS12),
	}, nil
}

// listen opens the server's listener as Start asked.
func (a *serveArgs) listen() (net.Listener, error) {
	if a.Network == "" || a.Network == "unix" {
		os.Remove(a.Socket) // a stale socket of a dead server
		ln, err := net.Listen("unix", a.Socket)
		if err != nil {
			return nil, fmt.Errorf("manager: listening: %w", err)
		}
		if err := os.Chmod(a.Socket, 0o600); err != nil {
			ln.Close()
			return nil, fmt.Errorf("manager: %w", err)
		}
		return ln, nil
	}
	ln, err := net.Listen(a.Network, a.Socket)
	if err != nil {
		return nil, fmt.Errorf("manager: listening on %s %s: %w", a.Network, a.Socket, err)
	}
	if a.TLS != nil {
		cfg, err := a.TLS.config()
		if err != nil {
			ln.Close()
			return nil, err
		}
		ln = tls.NewListener(ln, cfg)
	}
	// Tell Start the address (the port, if it was 0): written whole, then
	// renamed, so that it is never read in part.
	tmp := a.AddrFile + ".tmp"
	err = os.WriteFile(tmp, []byte("tcp://"+ln.Addr().String()), 0o600)
	if err == nil {
		err = os.Rename(tmp, a.AddrFile)
	}
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("manager: %w", err)
	}
	return ln, nil
}

// readAddr returns the address that Start's TCP server wrote, or "" if
// it has not yet.
func readAddr(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "address"))
	if err != nil {
		return ""
	}
	return string(b)
}

// useTLS sets the TLS configuration the client dials with (nil: none).
func (c *client) useTLS(cfg *tls.Config) {
	if cfg == nil {
		return
	}
	c.dial.Lock()
	c.tls = cfg
	c.dial.Unlock()
}

// pinTLS makes the client require cert of its server, unless it knows
// the server otherwise.
func (c *client) pinTLS(cert []byte) {
	c.dial.Lock()
	defer c.dial.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tls == nil && c.cert == nil {
		c.cert = cert
	}
}

// startTLS returns what Start's server needs of ServerTLS's
// configuration, if any.
func startTLS(cfg *config) (*serverCert, error) {
	if cfg.tlsServer == nil {
		return nil, nil
	}
	return exportCert(cfg.tlsServer)
}

// startClientTLS returns the configuration Start connects to its server
// with: TLS's, or else one that trusts exactly ServerTLS's certificate.
func startClientTLS(cfg *config) *tls.Config {
	if cfg.tlsClient != nil || cfg.tlsServer == nil {
		return cfg.tlsClient
	}
	return pinned(cfg.tlsServer.Certificates[0].Certificate[0])
}
