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
	for _, want := range []string{"Starting: daemon", "Exiting: non-daemon", "d.IsAlive(): true", "the daemon was terminated (exit code -15)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Exiting: daemon") {
		t.Errorf("output has %q:\n%s", "Exiting: daemon", out)
	}
}
