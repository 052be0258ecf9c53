package main

import (
	"strings"
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	out := exampletest.Contains(t, main, "Starting: daemon", "Exiting: non-daemon", "d.IsAlive(): true", "the daemon was terminated (exit code -15)")
	if strings.Contains(out, "Exiting: daemon") {
		t.Errorf("output has %q:\n%s", "Exiting: daemon", out)
	}
}
