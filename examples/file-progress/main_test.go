package main

import (
	"os"
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	args := os.Args
	os.Args = []string{args[0], "."} // this directory's files
	defer func() { os.Args = args }()
	exampletest.Contains(t, main, "2 files, ", " 0 unreadable")
}
