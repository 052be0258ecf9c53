package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/mp-go/mp/internal/csvgroup"
	"github.com/mp-go/mp/internal/jobs"
)

func groupbyCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("mp groupby")
	fs.SetInterspersed(true)
	var c common
	c.register(fs)
	by := fs.String("by", "", "group by these `COLUMNS` (header names, comma-separated)")
	sorted := fs.Bool("sorted", false, "the input's groups are adjacent: stream, running each group as soon as it ends")
	headerOnce := fs.Bool("header-once", false, "the outputs are CSV with a header: print the first output's header only")
	budget := fs.Int64("memory", 64<<20, "bytes of rows kept in memory before the groups spill to temporary files")
	// The command follows "--", which the flag package would swallow.
	dash := slices.Index(args, "--")
	opts := args
	if dash >= 0 {
		opts = args[:dash]
	}
	if code, ok := parseFlags(fs, opts, stdout, stderr, "mp groupby", groupbyHelp); !ok {
		return code
	}
	if dash < 0 || dash == len(args)-1 {
		fmt.Fprintln(stderr, "mp groupby: give the command after --: mp groupby --by COL [FILE] -- COMMAND")
		return 255
	}
	rest := append(fs.Args(), args[dash:]...)
	dash = len(fs.Args())
	if *by == "" {
		fmt.Fprintln(stderr, "mp groupby: -by COL[,COL] is required")
		return 255
	}
	files, cmdWords := rest[:dash], rest[dash+1:]
	if len(files) > 1 {
		fmt.Fprintf(stderr, "mp groupby: one input file at most, got %q\n", files)
		return 255
	}
	in := stdin
	if len(files) == 1 && files[0] != "-" {
		f, err := os.Open(files[0])
		if err != nil {
			fmt.Fprintln(stderr, "mp groupby:", err)
			return 255
		}
		defer f.Close()
		in = f
	}
	keyCols := strings.Split(*by, ",")
	t, err := jobs.Parse(cmdWords)
	if err != nil {
		fmt.Fprintln(stderr, "mp groupby:", err)
		return 255
	}
	defer t.Close() // its perl process, if it has one
	cfg, err := c.config(t, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "mp groupby:", err)
		return 255
	}
	cfg.HeaderOnce = *headerOnce
	groups, cleanup, err := csvgroup.Split(in, csvgroup.Options{By: keyCols, Budget: *budget, Sorted: *sorted})
	if err != nil {
		fmt.Fprintln(stderr, "mp groupby:", err)
		return 255
	}
	defer cleanup()
	input := func(yield func(*jobs.Job, error) bool) {
		for g, err := range groups {
			if err != nil {
				yield(nil, err)
				return
			}
			vars := map[string]string{"key": strings.Join(g.Key, ",")}
			for i, col := range keyCols {
				vars["key."+col] = g.Key[i]
			}
			if !yield(&jobs.Job{Seq: g.Seq, Vars: vars, Stdin: g.File, RemoveStdin: true}, nil) {
				return
			}
		}
	}
	return execute(cfg, input, stderr, "mp groupby")
}

const groupbyHelp = `Usage: mp groupby --by COL[,COL] [options] [FILE|-] -- COMMAND

Reads CSV (a header row, RFC 4180 quoting) from FILE or standard input,
groups its rows by the key columns (groups need not be adjacent) and runs
COMMAND once per group, in parallel, with the group's rows as CSV, header
first, on its standard input. Outputs are printed whole, in first-seen group
order with -k, else as groups finish.

Replacement strings in COMMAND:
  {key}      the group's key values, joined by commas
  {key.COL}  the value of key column COL
  {#}        the group number, in first-seen order      {%}  the job slot

Memory stays bounded: past -memory bytes the rows spill to one temporary file
per group, so an input larger than memory works; with -sorted nothing is
held but the current group. Timeouts, retries, the job log and Ctrl-C work
as for mp run; the bar counts groups. Exit status as mp run's.

Options:
`
