package jobs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestLoggedCommandsKeepJobNumbers: a job log lists jobs in the order they
// ended, so --retry-failed must number each command by its lowest logged
// job number, not by the row it came first in (a job that failed as number
// 2 was run again as number 1 when job 3, the same command as job 1, ended
// first).
func TestLoggedCommandsKeepJobNumbers(t *testing.T) {
	const head = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
	row := func(seq, exit, cmd string) string {
		return seq + "\t:\t1.000\t 0.001\t0\t0\t" + exit + "\t0\t" + cmd + "\n"
	}
	for _, tc := range []struct {
		name string
		log  string
		want []string
	}{
		{"in order", head + row("1", "0", "a") + row("2", "1", "b") + row("3", "0", "c"), []string{"a", "b", "c"}},
		{"ended in reverse", head + row("3", "0", "a") + row("2", "1", "b") + row("1", "0", "a"), []string{"a", "b"}},
		{"duplicate ended first", head + row("3", "0", "a") + row("1", "0", "a") + row("2", "1", "b"), []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(p, []byte(tc.log), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoggedCommands(p)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("LoggedCommands = %q, want %q", got, tc.want)
			}
		})
	}
}
