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

func TestEncodeComplexNumbers(t *testing.T) {
	type point struct{ Z complex128 }
	b, err := encode(point{Z: 1 + 2i})
	if err != nil {
		t.Fatal(err)
	}
	var p point
	if err := wire.Unmarshal(b, &p); err != nil || p.Z != 1+2i {
		t.Errorf("decoded %v, %v", p, err)
	}
}
