package proc

import (
	"os"
	"strings"
)

// SelfEnv returns os.Environ() plus extra, for a copy of this program that
// it re-executes (a worker, a watchdog, a tracker). In a program built with
// -race, it also sets the race detector's atexit_sleep_ms=0 in GORACE
// unless GORACE already says otherwise: the race runtime otherwise sleeps
// a second at every exit, so that each worker a pool stops, and each
// watchdog, held up Close (and the race-built tests) for a second apiece.
// Races are still reported as they happen.
func SelfEnv(extra ...string) []string {
	env := append(os.Environ(), extra...)
	if !raceEnabled {
		return env
	}
	g, ok := os.LookupEnv("GORACE")
	if strings.Contains(g, "atexit_sleep_ms") {
		return env
	}
	if ok && g != "" {
		g += " "
	}
	return append(env, "GORACE="+g+"atexit_sleep_ms=0")
}
