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
	for _, want := range []string{"false true\n", "A false\n", "I2 recv I1_send1\n", "I2 recv I1_send2\n", "I1 recv I2_send\n", "Done.\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
