//go:build linux

package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main, ": Data 4 (held the lock ", "Done: 5 items one at a time in ")
}
