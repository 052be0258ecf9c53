package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/mp-go/mp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mp.Main() // the test binary's worker processes serve from here
	goleak.VerifyTestMain(m)
}

func TestProgram(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	main()
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	for _, want := range []string{"Lyon=300", "Osaka=40", "Taipei=180", "a worker died", `"Lyon ok"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
