package wire

import (
	"crypto/sha256"

	"github.com/fxamacker/cbor/v2"
)

// keyMode encodes deterministically (RFC 8949 core deterministic
// encoding: map keys sorted, shortest forms), so that equal values give
// equal keys whatever Go's map order.
var keyMode = func() cbor.EncMode {
	o := cbor.CoreDetEncOptions()
	o.Time = cbor.TimeRFC3339Nano
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// Key returns a key for v within domain: the SHA-256 of domain and of v's
// deterministic encoding. Values that encode alike (equal values, a map
// whatever its order) have the same key; v must pass Check.
func Key(domain string, v any) ([32]byte, error) {
	if _, err := checkAt(v, 0); err != nil {
		return [32]byte{}, err
	}
	b, err := keyMode.Marshal(v)
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write([]byte{0})
	h.Write(b)
	var k [32]byte
	h.Sum(k[:0])
	return k, nil
}
