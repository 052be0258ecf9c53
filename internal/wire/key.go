package wire

import "crypto/sha256"

// Key returns a key for v within domain: the SHA-256 of domain and of v's
// deterministic encoding (MarshalDeterministic). Values that encode alike
// (equal values, a map whatever its order) have the same key.
func Key(domain string, v any) ([32]byte, error) {
	b, err := MarshalDeterministic(v)
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
