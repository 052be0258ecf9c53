//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/exampletest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mp.Main() // the test binary's child processes serve from here
	goleak.VerifyTestMain(m)
}

func TestProgram(t *testing.T) {
	out := exampletest.Output(t, main)
	for _, want := range []string{"get, then join: 30000 results, none lost", "in the queue: 30000", "join, then get: 30000 results, none lost"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
