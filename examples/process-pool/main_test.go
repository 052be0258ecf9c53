package main

import (
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	exampletest.Contains(t, main, "Lyon=300", "Osaka=40", "Taipei=180", "a worker died", `"Lyon ok"`)
}
