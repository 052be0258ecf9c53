package progress

import (
	"io"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/cupwriter"
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
	return newGroup(newConfig(opts))
}

// newGroup starts a group drawing with c, whose mode is settled (not
// Auto). A single Bar is drawn by a group of one.
func newGroup(c config) *Group {
	g := &Group{cfg: c}
	if c.mode == Off {
		return g
	}
	if c.mode == Terminal {
		// forceTTY: the mode is decided here (by WithMode or by
		// term.IsTerminal), so mpb redraws in place whatever the writer.
		g.p = mpb.New(mpb.WithConsoleWriter(console{cupwriter.New(c.w, true)}),
			mpb.WithRefreshRate(c.interval), mpb.WithAutoRefresh())
	}
	g.stop, g.exited = make(chan struct{}), make(chan struct{})
	go g.loop()
	return g
}

// console is mpb's terminal writer with a fallback size: a terminal that
// reports no size (a new pseudo-terminal, some CI runners, docker exec)
// would otherwise get no line at all, as mpb drops the rows that do not fit.
type console struct{ *cupwriter.Writer }

// GetTermSize returns the terminal's size, or 80×24 when it has none.
func (c console) GetTermSize() (width, height int, err error) {
	width, height, err = c.Writer.GetTermSize()
	if err != nil || width <= 0 || height <= 0 {
		return 80, 24, nil
	}
	return width, height, nil
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
	g.add(b)
	return b
}

// add puts b on the group's next line.
func (g *Group) add(b *Bar) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.bars = append(g.bars, b)
	g.last = append(g.last, -1)
	if g.p != nil && !g.closed {
		g.mbars = append(g.mbars, g.newLine(b))
	}
}

// newLine makes the mpb bar that draws b as tqdm does: our head (the
// description and percent), mpb's bar, our tail (counts, times, rate,
// postfix), all from one snapshot of b taken when mpb renders the line.
// The bar is left out while b's total is unknown, as tqdm leaves it out.
// mpb's total is unknown too, so that its bar completes only when the
// group says (and a total can change).
func (g *Group) newLine(b *Bar) *mpb.Bar {
	var st snapshot // mpb renders a line on one goroutine: head, tail, then the bar
	style := mpb.BarStyle().Lbound("|").Filler("█").Tip("█").Padding(" ").Rbound("|")
	return g.p.New(0, style,
		mpb.BarFillerTrim(),
		mpb.BarFillerMiddleware(func(f mpb.BarFiller) mpb.BarFiller {
			return mpb.BarFillerFunc(func(w io.Writer, stat decor.Statistics) error {
				if st.total <= 0 {
					return nil
				}
				stat.Current, stat.Total = min(st.n, st.total), st.total
				return f.Fill(w, stat)
			})
		}),
		mpb.BarWidth(g.cfg.width),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			st = b.snap()
			return st.head()
		})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return st.tail(b.cfg.unit) })),
	)
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
// plain line for each bar that moved (every bar when final). It returns
// the error of writing plain lines.
func (g *Group) draw(final bool) error {
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
		if sb.Len() == 0 {
			return nil
		}
		_, err := io.WriteString(g.cfg.w, sb.String())
		return err
	}
	for i, b := range g.bars {
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
	return nil
}

// Close draws the final state of every bar, ends their lines and stops
// drawing. It is safe to call more than once.
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
	err := g.draw(true)
	if g.p != nil {
		g.p.Wait()
		err = g.p.Error
	}
	return err
}
