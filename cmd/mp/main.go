// Command mp runs a command over many inputs in parallel, as GNU parallel
// does, and over the groups of a CSV file:
//
//	mp run [options] COMMAND [::: ARGS...] [:::: FILES...]
//	mp groupby --by COL[,COL] [options] [FILE|-] -- COMMAND
//	mp server [options]
//
// mp server runs a NATS server with JetStream for mp.Cluster pools and
// their workers on several hosts. Run "mp help", "mp run -h", "mp groupby
// -h" or "mp server -h" for the options.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/jobs"
)

const usage = `mp runs commands in parallel.

Usage:
  mp run [options] COMMAND [::: ARGS...] [:::+ ARGS...] [:::: FILES...] [::::+ FILES...]
  mp groupby --by COL[,COL] [options] [FILE|-] -- COMMAND
  mp server [options]
  mp worker -connect URL
  mp help

mp run runs COMMAND once per input, like GNU parallel. Inputs are the ARGS
after ::: (several ::: give every combination; :::+ pairs with the source
before), the lines of FILES after :::: or -a, or the lines of standard input.

mp groupby reads a CSV file (header row, RFC 4180 quoting), groups its rows
by the key columns (groups need not be adjacent) and runs COMMAND once per
group with the group's rows, as CSV with the header, on standard input.

mp server runs a NATS server with JetStream for mp.Cluster pools and their
workers on several hosts; mp worker -connect URL runs the jobs of
mp run -cluster URL (and mp groupby -cluster URL) on this host.

Run "mp run -h", "mp groupby -h" or "mp server -h" for the options.
`

func main() {
	mp.Main()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the command, apart from the process: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 255
	}
	switch args[0] {
	case "run":
		return runCmd(args[1:], stdin, stdout, stderr)
	case "groupby":
		return groupbyCmd(args[1:], stdin, stdout, stderr)
	case "server":
		return serverCmd(args[1:], stdout, stderr)
	case "worker":
		return workerCmd(args[1:], stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "mp: unknown command %q\n\n%s", args[0], usage)
	return 255
}

// shellOf is the shell of the jobs that need one: $PARALLEL_SHELL, as
// GNU parallel's, else $SHELL, else /bin/sh.
func shellOf() string {
	for _, env := range []string{"PARALLEL_SHELL", "SHELL"} {
		if s := os.Getenv(env); s != "" {
			return s
		}
	}
	return "/bin/sh"
}

// execute runs the jobs with Ctrl-C handling and returns the exit status.
func execute(cfg jobs.Config, input func(func(*jobs.Job, error) bool), stderr io.Writer, name string) int {
	if cfg.ClusterURL != "" && !cfg.DryRun {
		pool, err := mp.NewPool(mp.Cluster(cfg.ClusterURL), mp.Threads(cfg.Jobs))
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 255
		}
		defer pool.Close()
		cfg.Remote = pool
	}
	cfg.Watchdog = true
	cfg.Name = name
	r := jobs.NewRunner(cfg)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		n := 0
		for {
			select {
			case <-sigs:
				n++
				if n == 1 {
					fmt.Fprintf(stderr, "%s: stopping: no new jobs, SIGTERM to the running ones (again to kill them now)\n", name)
					r.Interrupt()
				} else {
					r.Kill()
				}
			case <-stop:
				return
			}
		}
	}()
	sum, err := r.Run(context.Background(), input)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 255
	}
	if sum.Interrupted && sum.Failed == 0 {
		return 130
	}
	return sum.ExitStatus()
}
