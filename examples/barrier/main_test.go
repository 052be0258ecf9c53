//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/mp-go/mp/internal/exampletest"
)

func TestMain(m *testing.M) { exampletest.Main(m) }

func TestProgram(t *testing.T) {
	out := exampletest.Output(t, main)
	go1 := strings.Index(out, "-- all three arrived: go --")
	if go1 < 0 || strings.LastIndex(out, "first step done") > go1 || strings.Index(out, "second step") < go1 || !strings.HasSuffix(out, "Done.\n") {
		t.Errorf("output:\n%s", out)
	}
}
