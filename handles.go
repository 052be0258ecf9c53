package mp

import "github.com/mp-go/mp/internal/wire"

// The IPC types that travel to other processes as arguments (Queue, Lock,
// Value, a Pipe's Conn...) are handles: each names, by its first field,
// a codec that internal/wire calls to encode and decode it. What a handle
// looks like on the wire stays out of this package's API: the methods
// are unexported, and only internal/wire calls them.

// ipcHandle is what the handle types of this package implement.
type ipcHandle interface {
	// encodeHandle returns the handle's encoding (wire.Marshal of what
	// names its segments).
	encodeHandle() ([]byte, error)
	// decodeHandle makes the receiver, a new zero value, the handle
	// data encodes, mapping what it names. data comes from another
	// process: it is decoded with wire.Unmarshal, within its bounds.
	decodeHandle(data []byte) error
}

// handleCodec is the wire codec of every handle type H of this package.
type handleCodec[H ipcHandle] struct{}

var _ wire.HandleCodec[*Queue[int]] = handleCodec[*Queue[int]]{}

// EncodeHandle encodes h.
func (handleCodec[H]) EncodeHandle(h H) ([]byte, error) { return h.encodeHandle() }

// DecodeHandle decodes data into h.
func (handleCodec[H]) DecodeHandle(h H, data []byte) error { return h.decodeHandle(data) }

// handle is the first field of a handle type H's struct (see wire.Handle).
type handle[H ipcHandle] = wire.Handle[H, handleCodec[H]]
