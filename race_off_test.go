//go:build !race

package mp_test

// raceEnabled says that the tests run under the race detector (see
// race_on_test.go).
const raceEnabled = false
