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
	for _, want := range []string{"0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
