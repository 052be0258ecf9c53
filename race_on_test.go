//go:build race

package mp_test

// raceEnabled says that the tests run under the race detector, whose
// processes start several times slower: tests that start hundreds of
// processes start fewer.
const raceEnabled = true
