package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main,
		"primes below 10: 4\n", "primes below 1000: 168\n", "primes below 100000: 9592\n",
		"none of them this one: true")
}
