// Package exampletest runs an example program's main in its test and
// returns what it printed, its worker processes' output included (they
// inherit os.Stdout as it is when they start).
package exampletest

import (
	"io"
	"os"
	"testing"
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
