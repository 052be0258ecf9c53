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

// MAC returns the HMAC-SHA256 of challenge under key.
func MAC(key, challenge []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(challenge)
	return h.Sum(nil)
}

// Server runs the accepting side: it challenges the peer, checks its
// answer, then answers the peer's challenge. On a wrong key or version it
// tells the peer why before returning the error.
func Server(r *wire.Reader, w *wire.Writer, key []byte, version int) error {
	challenge := make([]byte, 32)
	rand.Read(challenge)
	if err := write(w, &wire.Auth{Version: version, Challenge: challenge}); err != nil {
		return err
	}
	a, err := read(r)
	if err != nil {
		return err
	}
	if a.Version != version {
		write(w, &wire.Auth{Err: fmt.Sprintf("protocol version %d, the listener speaks %d", a.Version, version)})
		return fmt.Errorf("the peer speaks protocol %d, this program %d", a.Version, version)
	}
	if !hmac.Equal(a.MAC, MAC(key, challenge)) {
		write(w, &wire.Auth{Err: ErrWrongKey.Error()})
		return ErrWrongKey
	}
	if len(a.Challenge) < 16 {
		return errors.New("the peer's challenge is too short")
	}
	return write(w, &wire.Auth{Version: version, MAC: MAC(key, a.Challenge)})
}

// Client runs the connecting side: it answers the server's challenge,
// sends its own, and checks the server's answer.
func Client(r *wire.Reader, w *wire.Writer, key []byte, version int) error {
	hello, err := read(r)
	if err != nil {
		return err
	}
	if hello.Version != version {
		return fmt.Errorf("the peer speaks protocol %d, this program %d", hello.Version, version)
	}
	mine := make([]byte, 32)
	rand.Read(mine)
	if err := write(w, &wire.Auth{Version: version, MAC: MAC(key, hello.Challenge), Challenge: mine}); err != nil {
		return err
	}
	ans, err := read(r)
	if err != nil {
		return err
	}
	if !hmac.Equal(ans.MAC, MAC(key, mine)) {
		return ErrWrongKey
	}
	return nil
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

// read reads an Auth frame; one carrying an error from the peer is that
// error.
func read(r *wire.Reader) (*wire.Auth, error) {
	kind, p, err := r.Read()
	if err != nil {
		return nil, err
	}
	var a wire.Auth
	if kind != wire.KindAuth || wire.Unmarshal(p, &a) != nil {
		return nil, ErrNotHandshake
	}
	if a.Err != "" {
		if a.Err == ErrWrongKey.Error() {
			return nil, fmt.Errorf("the peer says: %w", ErrWrongKey)
		}
		return nil, fmt.Errorf("the peer says: %s", a.Err)
	}
	return &a, nil
}
