// Package exampletest runs an example program's main in its test and
// returns what it printed, its worker processes' output included (they
// inherit os.Stdout as it is when they start).
package exampletest

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/mp-go/mp"
	"go.uber.org/goleak"
)

// Output runs main with os.Stdout sent to a pipe and returns what was
// written there.
func Output(t *testing.T, main func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r) // until every writer, children too, has closed
		r.Close()
		done <- b
	}()
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	main()
	os.Stdout = stdout
	w.Close()
	return string(<-done)
}

// Main is the TestMain of an example: the test binary's worker and child
// processes serve from mp.Main, and goroutine leaks fail the tests.
func Main(m *testing.M) {
	mp.Main()
	goleak.VerifyTestMain(m)
}

// Contains runs main and fails t unless its output holds every want.
func Contains(t *testing.T, main func(), wants ...string) string {
	t.Helper()
	out := Output(t, main)
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	return out
}
