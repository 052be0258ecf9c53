//go:build linux

package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main, "false true\n", "A false\n", "I2 recv I1_send1\n", "I2 recv I1_send2\n", "I1 recv I2_send\n", "Done.\n")
}
