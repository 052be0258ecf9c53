package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Group draws several bars at once, one line each, such as one bar per
// worker (tqdm's position=i). On a terminal the lines are redrawn in
// place; elsewhere each bar prints a plain status line now and then and
// a last one when the group is closed. Make its bars with Group.New;
// close the group when the work is done.
type Group struct {
	cfg config

	mu     sync.Mutex
	bars   []*Bar
	lines  int // lines drawn last time (Terminal)
	last   []int64
	closed bool

	stop   chan struct{}
	exited chan struct{}
}

// NewGroup starts a group of bars. It takes Writer, WithMode, Interval,
// PlainInterval and Width; the other options belong to its bars.
func NewGroup(opts ...Option) *Group {
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
	g := &Group{cfg: c}
	if c.mode == Off {
		return g
	}
	g.stop, g.exited = make(chan struct{}), make(chan struct{})
	go g.loop()
	return g
}

// New adds a bar counting to total on the next line of the group. The
// group draws it: its Close only marks it done.
func (g *Group) New(total int64, opts ...Option) *Bar {
	c := config{unit: "it", width: g.cfg.width}
	for _, o := range opts {
		o(&c)
	}
	if c.total != nil {
		total = *c.total
	}
	c.w, c.mode = g.cfg.w, Off // drawn by the group
	b := &Bar{start: time.Now(), cfg: c, desc: c.desc}
	b.total.Store(total)
	g.mu.Lock()
	g.bars = append(g.bars, b)
	g.last = append(g.last, -1)
	g.mu.Unlock()
	return b
}

func (g *Group) loop() {
	defer close(g.exited)
	every := g.cfg.interval
	if g.cfg.mode == Plain {
		every = g.cfg.plainInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.draw(false)
		}
	}
}

// draw writes the bars: in place on a terminal, or a plain line for each
// bar that moved (every bar when final).
func (g *Group) draw(final bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var sb strings.Builder
	if g.cfg.mode == Plain {
		for i, b := range g.bars {
			if n := b.count.Load(); final || n != g.last[i] {
				g.last[i] = n
				sb.WriteString(b.String())
				sb.WriteByte('\n')
			}
		}
	} else {
		if g.lines > 0 {
			fmt.Fprintf(&sb, "\x1b[%dA", g.lines) // back to the first line
		}
		for _, b := range g.bars {
			sb.WriteString("\r\x1b[2K")
			sb.WriteString(b.line(g.cfg.width))
			sb.WriteByte('\n')
		}
		g.lines = len(g.bars)
	}
	io.WriteString(g.cfg.w, sb.String())
}

// Close draws the final state of every bar and stops drawing. It is safe
// to call more than once.
func (g *Group) Close() error {
	g.mu.Lock()
	if g.closed || g.stop == nil {
		g.closed = true
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.mu.Unlock()
	close(g.stop)
	<-g.exited
	g.draw(true)
	return nil
}

// line renders b as tqdm does:
// "desc:  45%|█████▌      | 450/1000 [00:01<00:02, 310.50 it/s, postfix]".
func (b *Bar) line(width int) string {
	n, total := b.count.Load(), b.total.Load()
	elapsed := time.Since(b.start)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	b.mu.Lock()
	desc, postfix := b.desc, b.postfix
	b.mu.Unlock()
	var sb strings.Builder
	if desc != "" {
		sb.WriteString(desc)
		sb.WriteString(": ")
	}
	if total <= 0 {
		fmt.Fprintf(&sb, "%d %s [%s, %s %s/s", n, b.cfg.unit, clock(elapsed), rateString(rate), b.cfg.unit)
	} else {
		frac := min(float64(n)/float64(total), 1)
		fmt.Fprintf(&sb, "%3.0f%%|%s| %d/%d [%s<", 100*frac, blocks(frac, width), n, total, clock(elapsed))
		if rate > 0 && n <= total {
			sb.WriteString(clock(time.Duration(float64(total-n) / rate * float64(time.Second))))
		} else {
			sb.WriteString("?")
		}
		fmt.Fprintf(&sb, ", %s %s/s", rateString(rate), b.cfg.unit)
	}
	if postfix != "" {
		sb.WriteString(", ")
		sb.WriteString(postfix)
	}
	sb.WriteString("]")
	return sb.String()
}

// blocks draws frac of width cells with eighth-block precision.
func blocks(frac float64, width int) string {
	eighths := int(frac * float64(width) * 8)
	full, part := eighths/8, eighths%8
	s := strings.Repeat("█", full)
	if full < width {
		if part > 0 {
			s += string([]rune("▏▎▍▌▋▊▉")[part-1])
			full++
		}
		s += strings.Repeat(" ", width-full)
	}
	return s
}
