//go:build linux

package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main, "Drying dish: salad", "Done: apple", "All wash work done!!!", "All Done!")
}
