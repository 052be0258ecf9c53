package progress

import (
	"io"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Group draws several bars at once, one line each, such as one bar per
// worker (tqdm's position=i). On a terminal the lines are redrawn in
// place by github.com/vbauerster/mpb; elsewhere each bar prints a plain
// status line now and then and a last one when the group is closed. Make
// its bars with Group.New; close the group when the work is done.
type Group struct {
	cfg config
	p   *mpb.Progress // Terminal mode

	mu     sync.Mutex
	bars   []*Bar
	mbars  []*mpb.Bar // Terminal mode, one per bar
	last   []int64
	closed bool

	stop   chan struct{}
	exited chan struct{}
}

// NewGroup starts a group of bars. It takes Writer, WithMode, Interval,
// PlainInterval and Width; the other options belong to its bars.
func NewGroup(opts ...Option) *Group {
	c := newConfig(opts)
	g := &Group{cfg: c}
	if c.mode == Off {
		return g
	}
	if c.mode == Terminal {
		g.p = mpb.New(mpb.WithOutput(c.w), mpb.WithRefreshRate(c.interval), mpb.WithAutoRefresh())
	}
	g.stop, g.exited = make(chan struct{}), make(chan struct{})
	go g.loop()
	return g
}

// New adds a bar counting to total (<= 0: unknown) on the next line of
// the group. The group draws it: its Close only marks it done.
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
	defer g.mu.Unlock()
	g.bars = append(g.bars, b)
	g.last = append(g.last, -1)
	if g.p != nil && !g.closed {
		// mpb draws the line: our label, its bar, our counts and rates
		g.mbars = append(g.mbars, g.p.New(0, mpb.BarStyle().Lbound("|").Filler("█").Tip("█").Padding(" ").Rbound("|"),
			mpb.BarWidth(g.cfg.width),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string { return b.head() })),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return " " + b.tail() })),
		))
	}
	return b
}

func (g *Group) loop() {
	defer close(g.exited)
	t := time.NewTicker(g.cfg.every())
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

// draw brings the drawing up to date: mpb's bars on a terminal, or a
// plain line for each bar that moved (every bar when final).
func (g *Group) draw(final bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cfg.mode == Plain {
		var sb strings.Builder
		for i, b := range g.bars {
			if n := b.count.Load(); final || n != g.last[i] {
				g.last[i] = n
				sb.WriteString(b.String())
				sb.WriteByte('\n')
			}
		}
		io.WriteString(g.cfg.w, sb.String())
		return
	}
	for i, b := range g.bars {
		// mpb's bars are made with an unknown total, so that they
		// complete only when we say (and a total can change).
		n, total := b.count.Load(), b.total.Load()
		mb := g.mbars[i]
		switch {
		case final && (total <= 0 || n >= total):
			mb.SetCurrent(n)
			mb.SetTotal(-1, true) // complete at n
		case final:
			mb.SetCurrent(n)
			mb.Abort(false) // unfinished: the line stays as it is
		default:
			if total > 0 {
				mb.SetTotal(total, false)
			}
			mb.SetCurrent(n)
		}
	}
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
	if g.p != nil {
		g.p.Wait()
	}
	return nil
}
