//go:build linux

package mp_test

import (
	"net"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// sockaddrString renders a unix or inet socket address as net.Addr's
// String does.
func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrUnix:
		return a.Name
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), strconv.Itoa(a.Port))
	}
	return ""
}

// CPython: _TestConnection.test_connection (conn.fileno()): a Conn over a
// socket returns its socket's descriptor, the one connected to the
// Listener's address; a closed Conn, -1.
func TestSocketConnFileno(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			accepted, dialed, l := socketPair[int](t, network, nil)
			fa, fd := accepted.Fileno(), dialed.Fileno()
			if fa < 0 || fd < 0 || fa == fd {
				t.Fatalf("Fileno: accepted %d, dialed %d: want two distinct descriptors", fa, fd)
			}
			peer, err := unix.Getpeername(fd)
			if err != nil {
				t.Fatalf("getpeername(%d): %v: not a connected socket", fd, err)
			}
			if got, want := sockaddrString(peer), l.Addr().String(); got != want {
				t.Errorf("the dialed Conn's descriptor %d is connected to %q, want the Listener's %q", fd, got, want)
			}
			if typ, err := unix.GetsockoptInt(fa, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_STREAM {
				t.Errorf("the accepted Conn's descriptor %d: SO_TYPE %d, %v: want a stream socket", fa, typ, err)
			}
			dialed.Close()
			if got := dialed.Fileno(); got != -1 {
				t.Errorf("Fileno after Close: %d, want -1", got)
			}
		})
	}
}
