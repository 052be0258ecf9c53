package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/mp-go/mp/internal/jobs"
)

// parseBlock reads --block's size as GNU parallel does: k, m, g, t are
// powers of 1000, K, M, G, T of 1024.
func parseBlock(s string) (int, error) {
	mult := 1.0
	if s != "" {
		if i := strings.IndexByte("kmgtKMGT", s[len(s)-1]); i >= 0 {
			base := 1000.0
			if i >= 4 {
				base, i = 1024, i-4
			}
			for range i + 1 {
				mult *= base
			}
			s = s[:len(s)-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f*mult < 1 || f*mult > 1<<40 {
		return 0, fmt.Errorf("--block %q: want a size such as 1M or 500k", s)
	}
	return int(f * mult), nil
}

// pipeCmd is mp run --pipe and --pipepart: standard input (or the -a
// file) cut into blocks of whole records, each block the standard input
// of a job.
func pipeCmd(o *runOpts, words []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "mp run:", err)
		return 255
	}
	if o.pipepart && o.maxLines > 0 {
		return fail(errors.New("--pipepart is incompatible with -L, -l and --max-lines (use --pipe)"))
	}
	bs := o.block
	if o.pipepart && !o.blockSet {
		// GNU parallel's default: 10 blocks per job slot (one with --round-robin)
		bs = "-10"
		if o.roundRobin {
			bs = "-1"
		}
	}
	if n, err := strconv.Atoi(bs); err == nil && n < 0 && o.pipepart && len(o.argFiles) == 1 {
		// --pipepart --block -N: N blocks per job slot, sized as GNU parallel
		st, err := os.Stat(o.argFiles[0])
		if err != nil {
			return fail(err)
		}
		slots, err := parseJobs(o.jobs)
		if err != nil {
			return fail(err)
		}
		bs = strconv.FormatInt(1+st.Size()/int64(slots*-n), 10)
	}
	block, err := parseBlock(bs)
	if err != nil {
		return fail(err)
	}
	// \n, \t, \0... in --recstart and --recend, as GNU parallel reads them
	recstart, recend := o.recstart, o.recend
	if !o.regexp {
		if recstart, err = unescape(o.recstart); err != nil {
			return fail(fmt.Errorf("--recstart %q: %w", o.recstart, err))
		}
		if recend, err = unescape(o.recend); err != nil {
			return fail(fmt.Errorf("--recend %q: %w", o.recend, err))
		}
	}
	// GNU parallel's defaults: --recstart alone leaves no record end,
	// --recend alone no record start; both empty make every byte a record
	switch {
	case o.recstartSet && !o.recendSet:
		recend = ""
	case !o.recstartSet && !o.recendSet:
		recstart, recend = "", "\n"
	}
	records := o.maxReplace
	if records == 0 {
		records = o.maxArgs // -n N is -N N here, as in GNU parallel
	}
	po := jobs.PipeOptions{Block: block, RecStart: recstart, RecEnd: recend, Records: records, Lines: o.maxLines,
		Regexp: o.regexp, EveryByte: recstart == "" && recend == ""}
	if len(words) == 0 {
		// GNU parallel's usage error (mp used to run cat)
		return fail(errors.New("--pipe/--pipepart must have a command to pipe into (e.g. 'cat')"))
	}
	popt := jobs.ParseOptions{Replace: o.replace, Plus: o.plus, Quote: o.quote, Rpl: o.rpl, Parens: o.parens}
	t, err := jobs.Parse(words, popt)
	if err != nil {
		return fail(err)
	}
	defer t.Close() // its perl process, if it has one
	cfg, err := o.config(t, stdout, stderr)
	if err != nil {
		return fail(err)
	}
	cfg.Parse = popt
	cfg.Results, cfg.Nice, cfg.Dir = o.results, o.nice, o.workdir
	if err := o.ssh.apply(&cfg, o.jobs, o.workdir, o.env, stdin); err != nil {
		return fail(err)
	}
	var input func(func(*jobs.Job, error) bool)
	if o.pipepart {
		if len(o.argFiles) != 1 {
			return fail(fmt.Errorf("--pipepart reads one file: give it with -a FILE"))
		}
		parts, err := jobs.Parts(o.argFiles[0], po)
		if err != nil {
			return fail(err)
		}
		cfg.Total = len(parts)
		input = func(yield func(*jobs.Job, error) bool) {
			for i := range parts {
				if !yield(&jobs.Job{Seq: i + 1, Part: &parts[i], Total: len(parts)}, nil) {
					return
				}
			}
		}
	} else {
		// at most a block per job slot, and one more, is held: the input
		// is read as the jobs take it
		var header []byte
		if o.header != "" {
			if header, stdin, err = pipeHeader(stdin, o.header); err != nil {
				return fail(err)
			}
		}
		blocks := jobs.Blocks(stdin, po)
		if o.rrs {
			blocks = func(yield func([]byte, error) bool) {
				for b, err := range jobs.Blocks(stdin, po) {
					if err == nil {
						b = removeSeparators(b, po.RecStart, po.RecEnd)
					}
					if !yield(b, err) {
						return
					}
				}
			}
		}
		if o.roundRobin && !cfg.DryRun { // a dry run reads no job's input: a line a block
			if o.retries != "" {
				return fail(errors.New("--retries cannot be combined with --round-robin"))
			}
			// -j long-lived jobs, each reading many blocks; the header
			// starts each job's input once, as in GNU parallel
			robin := jobs.NewRobin(blocks, cfg.Jobs, o.keep, header)
			defer robin.Close()
			return execute(cfg, robin.Jobs(), stderr, "mp run")
		}
		held := make(chan struct{}, cfg.Jobs+1)
		hold, release := func() { held <- struct{}{} }, func() { <-held }
		if cfg.DryRun {
			hold, release = func() {}, nil // no job runs to release its block
		}
		input = func(yield func(*jobs.Job, error) bool) {
			seq := 0
			hold()
			for b, err := range blocks {
				if err != nil {
					yield(nil, err)
					return
				}
				seq++
				job := &jobs.Job{Seq: seq, Release: release}
				if header != nil {
					b = append(header[:len(header):len(header)], b...) // every block starts with the header, as in GNU parallel
				} else if release != nil && !o.rrs {
					// the block's memory serves a later block once its job
					// has ended, unless something it left may still read it
					job.Release = func() {
						release()
						if !job.DataShared {
							jobs.ReuseBlock(b)
						}
					}
				}
				job.Data = b
				if !yield(job, nil) {
					return
				}
				hold()
			}
		}
	}
	return execute(cfg, input, stderr, "mp run")
}

// pipeHeader reads --pipe's --header from the start of r: a line for
// ":", N lines for a number N, else what the regexp matches there (such as '.*\n.*\n' for two
// lines). It returns the header and the rest of the input.
func pipeHeader(r io.Reader, spec string) ([]byte, io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if n, err := strconv.Atoi(spec); err == nil && n >= 0 {
		// N: N lines, as GNU parallel's "(.*\n)" x N
		spec = strings.Repeat(`.*\n`, n)
		if n == 0 {
			return nil, br, nil
		}
	}
	if spec == ":" {
		h, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("--header: %w", err)
		}
		return h, br, nil
	}
	re, err := regexp.Compile(`\A(?:` + spec + `)`)
	if err != nil {
		return nil, nil, fmt.Errorf("--header %q: %w", spec, err)
	}
	peek, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, nil, fmt.Errorf("--header: %w", err)
	}
	loc := re.FindIndex(peek)
	if loc == nil {
		return nil, br, nil
	}
	h := append([]byte(nil), peek[:loc[1]]...)
	br.Discard(loc[1])
	return h, br, nil
}

// removeSeparators is --rrs: the block without its records' ends and
// starts (every end followed by a start, when both are given).
func removeSeparators(b []byte, start, end string) []byte {
	switch {
	case start == "":
		return bytes.ReplaceAll(b, []byte(end), nil)
	case end == "":
		return bytes.ReplaceAll(b, []byte(start), nil)
	}
	b = bytes.ReplaceAll(b, []byte(end+start), nil)
	return bytes.TrimSuffix(bytes.TrimPrefix(b, []byte(start)), []byte(end))
}
