package manager

import (
	"errors"
	"strings"
	"testing"

	"github.com/mp-go/mp/internal/wire"
)

// A value with a pointer cycle given to a proxy crashed the program
// (fatal stack overflow in the encoder); it is an error naming the path.
func TestEncodeRefusesACycle(t *testing.T) {
	type node struct{ Next *node }
	n := &node{}
	n.Next = n
	_, err := encode(n)
	if !errors.Is(err, wire.ErrEncode) || !strings.Contains(err.Error(), "pointer cycle") || !strings.Contains(err.Error(), ".Next") {
		t.Fatalf("err = %v, want a pointer cycle at .Next", err)
	}
}
