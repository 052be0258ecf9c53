package main

import (
	"os"
	"strings"
	"testing"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/exampletest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mp.Main() // the test binary's worker processes serve from here
	goleak.VerifyTestMain(m)
}

func TestProgram(t *testing.T) {
	args := os.Args
	os.Args = []string{args[0], "."} // this directory's files
	defer func() { os.Args = args }()
	out := exampletest.Output(t, main)
	for _, want := range []string{"2 files, ", " 0 unreadable"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
