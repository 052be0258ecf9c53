// Package authkey is the authkey handshake of mp's sockets (Python's
// multiprocessing.connection deliver_challenge/answer_challenge): each
// side proves it knows the key with the HMAC-SHA256 of a fresh random
// challenge from the other, over wire Auth frames. The key itself never
// travels; MACs are compared in constant time.
package authkey

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/mp-go/mp/internal/wire"
)

// ErrWrongKey is the error of a side whose peer does not know the key.
var ErrWrongKey = errors.New("authentication failed: wrong authkey")

// ErrNotHandshake is the error of a side whose peer sent something else
// than a handshake frame (it has no authkey, or is not an mp peer).
var ErrNotHandshake = errors.New("the peer did not authenticate (does it have an authkey?)")

// ErrNoChallenge wraps the error of Client when the connection fails
// before the server's challenge arrived (not a server of this protocol,
// or one that wants TLS).
var ErrNoChallenge = errors.New("no challenge from the server")

// ErrNoAnswer wraps the error of Client when the server closed the
// connection instead of answering (it refused the key).
var ErrNoAnswer = errors.New("the server closed the connection during the handshake")

// PeerError is the reason the peer gave for refusing the handshake.
type PeerError struct{ Msg string }

func (e *PeerError) Error() string { return "the peer says: " + e.Msg }

// VersionError is a peer speaking another version of the protocol.
type VersionError struct{ Peer, Mine int }

func (e *VersionError) Error() string {
	return fmt.Sprintf("the peer speaks protocol %d, this program %d", e.Peer, e.Mine)
}

// MAC returns the HMAC-SHA256 of challenge under key.
func MAC(key, challenge []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(challenge)
	return h.Sum(nil)
}

// Server runs the accepting side: it challenges the peer, checks its
// answer, then answers the peer's challenge with answer (whose Version
// and MAC it sets: the caller may fill in the other fields). On a wrong
// key or version it tells the peer why, its message prefixed by name,
// before returning the error.
func Server(r *wire.Reader, w *wire.Writer, key []byte, version int, name string, answer wire.Auth) error {
	challenge := make([]byte, 32)
	rand.Read(challenge)
	if err := write(w, &wire.Auth{Version: version, Challenge: challenge}); err != nil {
		return err
	}
	kind, p, err := r.Read()
	if err != nil {
		return err
	}
	var a wire.Auth
	if kind != wire.KindAuth || wire.Unmarshal(p, &a) != nil {
		return ErrNotHandshake
	}
	if a.Version != version {
		write(w, &wire.Auth{Err: fmt.Sprintf("%s: protocol version %d, the server speaks %d", name, a.Version, version)})
		return &VersionError{a.Version, version}
	}
	if !hmac.Equal(a.MAC, MAC(key, challenge)) {
		write(w, &wire.Auth{Err: name + ": " + ErrWrongKey.Error()})
		return ErrWrongKey
	}
	if len(a.Challenge) < 16 {
		return errors.New("the peer's challenge is too short")
	}
	answer.Version, answer.MAC = version, MAC(key, a.Challenge)
	return write(w, &answer)
}

// Client runs the connecting side: it answers the server's challenge,
// sends its own, checks the server's answer and returns it.
func Client(r *wire.Reader, w *wire.Writer, key []byte, version int) (*wire.Auth, error) {
	hello, err := read(r)
	if err != nil {
		if isTransport(err) {
			return nil, fmt.Errorf("%w: %w", ErrNoChallenge, err)
		}
		return nil, err
	}
	if hello.Version != version {
		return nil, &VersionError{hello.Version, version}
	}
	mine := make([]byte, 32)
	rand.Read(mine)
	if err := write(w, &wire.Auth{Version: version, MAC: MAC(key, hello.Challenge), Challenge: mine}); err != nil {
		return nil, err
	}
	ans, err := read(r)
	if err != nil {
		if isTransport(err) {
			return nil, fmt.Errorf("%w: %w", ErrNoAnswer, err)
		}
		return nil, err
	}
	if !hmac.Equal(ans.MAC, MAC(key, mine)) {
		return nil, ErrWrongKey
	}
	return ans, nil
}

// isTransport reports whether err is the connection's, not the peer's.
func isTransport(err error) bool {
	var pe *PeerError
	return !errors.Is(err, ErrNotHandshake) && !errors.As(err, &pe)
}

func write(w *wire.Writer, a *wire.Auth) error {
	b, err := wire.Marshal(a)
	if err != nil {
		return err
	}
	if err := w.Write(wire.KindAuth, b); err != nil {
		return err
	}
	return w.Flush()
}

// read reads an Auth frame; one carrying an error from the peer is a
// *PeerError.
func read(r *wire.Reader) (*wire.Auth, error) {
	kind, p, err := r.Read()
	if err != nil {
		return nil, err
	}
	var a wire.Auth
	if kind != wire.KindAuth || wire.Unmarshal(p, &a) != nil {
		return nil, fmt.Errorf("%w: a frame of kind %d", ErrNotHandshake, kind)
	}
	if a.Err != "" {
		return nil, &PeerError{a.Err}
	}
	return &a, nil
}
