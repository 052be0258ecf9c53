//go:build race

package proc

// raceEnabled reports whether this program is built with -race.
const raceEnabled = true
