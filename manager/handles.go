package manager

import (
	"github.com/mp-go/mp/internal/wire"
)

// Proxies are handles (see internal/wire's Handle): each names, by its
// first field, a codec that internal/wire calls to encode and decode it,
// so a proxy passed to a Process or a pool task reaches the same object
// from there. Their wire format stays out of this package's API.

// proxyHandle is what the proxy types implement.
type proxyHandle interface {
	// encodeHandle returns the proxy's encoding (a handle, with wire).
	encodeHandle() ([]byte, error)
	// decodeHandle makes the receiver, a new zero value, the proxy data
	// encodes; data comes from another process and is decoded with
	// wire.Unmarshal, within its bounds.
	decodeHandle(data []byte) error
}

// handleCodec is the wire codec of every proxy type H.
type handleCodec[H proxyHandle] struct{}

var _ wire.HandleCodec[*Dict[string, int]] = handleCodec[*Dict[string, int]]{}

// EncodeHandle encodes h.
func (handleCodec[H]) EncodeHandle(h H) ([]byte, error) { return h.encodeHandle() }

// DecodeHandle decodes data into h.
func (handleCodec[H]) DecodeHandle(h H, data []byte) error { return h.decodeHandle(data) }

// mark is the first field of a proxy type H's struct (see wire.Handle).
type mark[H proxyHandle] = wire.Handle[H, handleCodec[H]]
