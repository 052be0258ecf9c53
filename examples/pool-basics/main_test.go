package main

import (
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
	out := exampletest.Output(t, main)
	for _, want := range []string{"msg: hello 4", "[msg1: 1 msg2: 1 msg1: 2 msg2: 2]", "[per worker state built once]", "done."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
