package proc

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestSelfEnv: a race-built program's re-executed copies get
// atexit_sleep_ms=0 unless GORACE already sets it; other GORACE options
// are kept; a program built without -race passes its environment as is.
func TestSelfEnv(t *testing.T) {
	for _, tc := range []struct {
		name   string
		gorace string // "-": unset
		want   string // the last GORACE in the result, with -race
	}{
		{"unset", "-", "GORACE=atexit_sleep_ms=0"},
		{"empty", "", "GORACE=atexit_sleep_ms=0"},
		{"other options kept", "halt_on_error=1", "GORACE=halt_on_error=1 atexit_sleep_ms=0"},
		{"the user's choice wins", "atexit_sleep_ms=500", "GORACE=atexit_sleep_ms=500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.gorace == "-" {
				t.Setenv("GORACE", "") // restored after the test
				os.Unsetenv("GORACE")
			} else {
				t.Setenv("GORACE", tc.gorace)
			}
			env := SelfEnv("A=1")
			if !slices.Contains(env, "A=1") {
				t.Fatalf("extra variable missing: %v", env)
			}
			last := ""
			for _, e := range env {
				if strings.HasPrefix(e, "GORACE=") {
					last = e
				}
			}
			want := tc.want
			if !raceEnabled {
				want = ""
				if tc.gorace != "-" {
					want = "GORACE=" + tc.gorace
				}
			}
			if last != want {
				t.Errorf("GORACE for a copy of this program: %q, want %q", last, want)
			}
		})
	}
}
