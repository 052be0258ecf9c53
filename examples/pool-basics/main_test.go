package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main, "msg: hello 4", "[msg1: 1 msg2: 1 msg1: 2 msg2: 2]", "[per worker state built once]", "done.")
}
