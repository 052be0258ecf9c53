package jobs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// --results FILE.csv or FILE.tsv: one row per job, as GNU parallel
// writes it: the job log's columns, the arguments V1..Vn, and the job's
// standard output and error.

// resultsTable reports whether --results names a table, and its separator.
func resultsTable(path string) (byte, bool) {
	switch {
	case strings.HasSuffix(path, ".csv"):
		return ',', true
	case strings.HasSuffix(path, ".tsv"):
		return '\t', true
	}
	return 0, false
}

// openTable creates the --results table.
func (r *Runner) openTable() error {
	sep, ok := resultsTable(r.cfg.Results)
	if !ok {
		return nil
	}
	f, err := os.Create(r.cfg.Results)
	if err != nil {
		return fmt.Errorf("--results: %w", err)
	}
	r.table, r.tableSep = f, sep
	return nil
}

// tableField quotes a field as GNU parallel does: in double quotes when
// it has white space, a quote or the separator.
func (r *Runner) tableField(s string) string {
	if !strings.ContainsAny(s, " \t\n\r\""+string(r.tableSep)) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// writeRow adds a printed job's row (the header before the first).
func (r *Runner) writeRow(res *result) {
	if r.table == nil || res.skipped {
		return
	}
	sep := string(r.tableSep)
	if !r.tableHead {
		r.tableHead = true
		cols := []string{"Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive", "Exitval", "Signal", "Command"}
		for i := range res.job.Args {
			cols = append(cols, "V"+strconv.Itoa(i+1))
		}
		fmt.Fprintln(r.table, strings.Join(append(cols, "Stdout", "Stderr"), sep))
	}
	var out, errb bytes.Buffer
	res.out.writeTo(&out)
	res.err2.writeTo(&errb)
	host := res.host
	if host == "" {
		host = ":"
	}
	row := []string{strconv.Itoa(res.job.Seq), host, fmt.Sprintf("%.3f", float64(res.start.UnixMilli())/1000),
		fmt.Sprintf("%.3f", res.took.Seconds()), "0", strconv.FormatInt(res.out.size, 10),
		strconv.Itoa(res.exit), strconv.Itoa(res.signal), r.tableField(res.command)}
	for _, a := range res.job.Args {
		row = append(row, r.tableField(a))
	}
	row = append(row, r.tableField(out.String()), r.tableField(errb.String()))
	fmt.Fprintln(r.table, strings.Join(row, sep))
}
