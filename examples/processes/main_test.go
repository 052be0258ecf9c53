package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main, "Main program", "doing: loop 0", "(Process-4) - doing: loop 3", "start", "end")
}
