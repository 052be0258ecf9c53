// Package progress draws tqdm-style progress bars for parallel work.
//
// At a glance:
//
//   - Bar: a counter with a total, a description and a postfix, drawn on
//     standard error. Add is one atomic add, so it can be called for every
//     item from many goroutines; drawing happens on its own schedule.
//   - Wrap / Wrap2: tqdm(iterable, total=n) for any iter.Seq / iter.Seq2.
//   - mp.Progress / mp.ProgressBar: the same bar on any mp call.
//
// On a terminal the bar is redrawn in place (by github.com/vbauerster/mpb,
// as a Group of one), the way tqdm draws it:
//
//	squares:  45% |█████████████                 |  45/100 [00:01<00:02, 31.20 it/s]
//
// Elsewhere (a log file, CI) it prints a plain status line now and then and
// a last one when closed, or nothing with WithMode(Off).
package progress

import (
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// Mode says how a bar is drawn.
type Mode int

const (
	// Auto draws in place on a terminal and plain lines elsewhere.
	Auto Mode = iota
	// Terminal redraws its line in place with terminal escape codes.
	Terminal
	// Plain prints a whole status line every PlainInterval, and one when
	// the bar is closed.
	Plain
	// Off draws nothing; the bar still counts.
	Off
)

// Option configures a Bar.
type Option func(*config)

type config struct {
	total         *int64
	desc          string
	w             io.Writer
	mode          Mode
	interval      time.Duration
	plainInterval time.Duration
	unit          string
	width         int
}

// Description sets the text shown before the bar (tqdm's desc).
func Description(s string) Option { return func(c *config) { c.desc = s } }

// Total sets the total, overriding the one given to New: with mp.Progress
// on Imap, whose input length mp cannot know (tqdm's total=n).
func Total(n int64) Option { return func(c *config) { c.total = &n } }

// Writer sets where the bar is drawn; the default is os.Stderr. Standard
// output is never written to, so piped results stay clean.
func Writer(w io.Writer) Option { return func(c *config) { c.w = w } }

// WithMode chooses how the bar is drawn; the default is Auto.
func WithMode(m Mode) Option { return func(c *config) { c.mode = m } }

// Interval sets how often a terminal bar is redrawn (default 100ms).
func Interval(d time.Duration) Option { return func(c *config) { c.interval = d } }

// PlainInterval sets how often a plain bar prints a line (default 10s).
func PlainInterval(d time.Duration) Option { return func(c *config) { c.plainInterval = d } }

// Unit names what is counted (default "it").
func Unit(s string) Option { return func(c *config) { c.unit = s } }

// Width sets the width of the bar itself in a terminal (default 30).
func Width(n int) Option { return func(c *config) { c.width = n } }

// Bar is a progress bar. Its methods are safe for concurrent use. Close it
// when the work is done: that draws the final state and stops the
// goroutine that draws it.
type Bar struct {
	count atomic.Int64
	total atomic.Int64 // <= 0: unknown
	start time.Time
	cfg   config

	mu      sync.Mutex
	desc    string
	postfix string
	closed  bool

	own *Group // draws this bar alone (Plain, Terminal); nil when Off or in a Group
}

// New starts a bar counting to total; total <= 0 means unknown (the bar
// shows the count and the rate, without percent or ETA).
func New(total int64, opts ...Option) *Bar {
	c := newConfig(opts)
	if c.total != nil {
		total = *c.total
	}
	b := &Bar{start: time.Now(), cfg: c, desc: c.desc}
	b.total.Store(total)
	if c.mode != Off {
		b.own = newGroup(c)
		b.own.add(b)
	}
	return b
}

// newConfig applies opts to the defaults and settles Auto: Terminal when
// the writer is a terminal, else Plain.
func newConfig(opts []Option) config {
	c := config{w: os.Stderr, interval: 100 * time.Millisecond, plainInterval: 10 * time.Second, unit: "it", width: 30}
	for _, o := range opts {
		o(&c)
	}
	if c.mode == Auto {
		c.mode = Plain
		if f, ok := c.w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			c.mode = Terminal
		}
	}
	return c
}

// every is how often the drawing loop wakes up.
func (c *config) every() time.Duration {
	if c.mode == Plain {
		return c.plainInterval
	}
	return c.interval
}

// Add counts n more items. It is a single atomic add.
func (b *Bar) Add(n int) { b.count.Add(int64(n)) }

// Set sets the count.
func (b *Bar) Set(n int64) { b.count.Store(n) }

// Count returns the items counted so far.
func (b *Bar) Count() int64 { return b.count.Load() }

// Total returns the total, or a value <= 0 when it is unknown.
func (b *Bar) Total() int64 { return b.total.Load() }

// SetTotal sets the total, for work whose size becomes known as it runs.
func (b *Bar) SetTotal(n int64) { b.total.Store(n) }

// Describe changes the description while the bar runs (tqdm's
// set_description).
func (b *Bar) Describe(desc string) {
	b.mu.Lock()
	b.desc = desc
	b.mu.Unlock()
}

// SetPostfix sets text shown after the description, in brackets (tqdm's
// set_postfix_str), such as "loss=0.31".
func (b *Bar) SetPostfix(s string) {
	b.mu.Lock()
	b.postfix = s
	b.mu.Unlock()
}

// Close draws the final state, ends the line and stops drawing. It is safe
// to call more than once. A bar made by Group.New is only marked done: its
// group draws it.
func (b *Bar) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	if b.own == nil {
		return nil
	}
	return b.own.Close()
}

// String returns the bar's state as one plain line, as Plain mode prints
// it: "desc: 50/100 50% [00:01<00:01, 45.20 it/s] postfix".
func (b *Bar) String() string {
	st := b.snap()
	var sb strings.Builder
	if st.desc != "" {
		sb.WriteString(st.desc)
		sb.WriteString(": ")
	}
	if st.total > 0 {
		fmt.Fprintf(&sb, "%d/%d %.0f%% [%s<%s, %s %s/s]", st.n, st.total, st.percent(), clock(st.elapsed), st.eta(), rateString(st.rate), b.cfg.unit)
	} else {
		fmt.Fprintf(&sb, "%d %s [%s, %s %s/s]", st.n, b.cfg.unit, clock(st.elapsed), rateString(st.rate), b.cfg.unit)
	}
	if st.postfix != "" {
		sb.WriteString(" ")
		sb.WriteString(st.postfix)
	}
	return sb.String()
}

// head and tail are what a terminal line shows before and after the bar
// itself, as tqdm does: "desc:  45%" |█████     | "45/100 [00:01<00:02,
// 31.20 it/s, postfix]". With an unknown total there is no bar and no
// percent: "desc: 7 it [00:01, 5.00 it/s]".
func (st snapshot) head() string {
	s := ""
	if st.desc != "" {
		s = st.desc + ": "
	}
	if st.total > 0 {
		s += fmt.Sprintf("%3.0f%%", st.percent())
	}
	return s
}

func (st snapshot) tail(unit string) string {
	var s string
	if st.total > 0 {
		s = fmt.Sprintf(" %d/%d [%s<%s, %s %s/s", st.n, st.total, clock(st.elapsed), st.eta(), rateString(st.rate), unit)
	} else {
		s = fmt.Sprintf("%d %s [%s, %s %s/s", st.n, unit, clock(st.elapsed), rateString(st.rate), unit)
	}
	if st.postfix != "" {
		s += ", " + st.postfix
	}
	return s + "]"
}

// snapshot is a bar's state at one moment.
type snapshot struct {
	n, total      int64
	elapsed       time.Duration
	rate          float64 // items per second
	desc, postfix string
}

func (b *Bar) snap() snapshot {
	st := snapshot{n: b.count.Load(), total: b.total.Load(), elapsed: time.Since(b.start)}
	if s := st.elapsed.Seconds(); s > 0 {
		st.rate = float64(st.n) / s
	}
	b.mu.Lock()
	st.desc, st.postfix = b.desc, b.postfix
	b.mu.Unlock()
	return st
}

func (st snapshot) percent() float64 { return 100 * float64(st.n) / float64(st.total) }

// eta is the time left at the current rate, "?" when unknown.
func (st snapshot) eta() string {
	if st.rate > 0 && st.n <= st.total {
		return clock(time.Duration(float64(st.total-st.n) / st.rate * float64(time.Second)))
	}
	return "?"
}

func rateString(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.1fk", r/1e3)
	default:
		return fmt.Sprintf("%.2f", r)
	}
}

func clock(d time.Duration) string {
	s := int64(math.Round(d.Seconds()))
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// Wrap ticks a new bar for every value seq yields, like
// tqdm(iterable, total=total), and closes the bar when the loop ends. The
// bar is created when iteration starts, so the returned sequence can be
// ranged over more than once if seq can.
func Wrap[T any](seq iter.Seq[T], total int64, opts ...Option) iter.Seq[T] {
	return func(yield func(T) bool) {
		b := New(total, opts...)
		defer b.Close()
		for v := range seq {
			b.Add(1)
			if !yield(v) {
				return
			}
		}
	}
}

// Wrap2 is Wrap for an iter.Seq2, such as the one mp.Imap returns.
func Wrap2[K, V any](seq iter.Seq2[K, V], total int64, opts ...Option) iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		b := New(total, opts...)
		defer b.Close()
		for k, v := range seq {
			b.Add(1)
			if !yield(k, v) {
				return
			}
		}
	}
}
