package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main,
		"3 lines counted by the pool (22 words of 3 letters or more)",
		"the  4\n", "dog  3\n", "fox  3\n", "and  2\n")
}
