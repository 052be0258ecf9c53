//go:build linux

package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main, "total 20000.0 (want 20000.0), histogram [10000 10000 10000 10000] (want 10000 each), hits 40000 (want 40000)")
}
