//go:build linux

package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main, "get, then join: 30000 results, none lost", "in the queue: 30000", "join, then get: 30000 results, none lost")
}
