package progress_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp/progress"
)

func TestGroupTerminal(t *testing.T) {
	var buf syncBuffer
	g := progress.NewGroup(progress.Writer(&buf), progress.WithMode(progress.Terminal), progress.Interval(time.Millisecond), progress.Width(10))
	a := g.New(100, progress.Description("worker 1"))
	b := g.New(50, progress.Description("worker 2"))
	a.Add(45)
	// Wait until the group has redrawn both lines in place with worker 1
	// at 45%: mpb renders on its own goroutine, on its own schedule.
	redrawnAt45 := func(out string) bool {
		i := strings.Index(out, "\x1b[2A")
		return i >= 0 && strings.Contains(out[i:], "worker 1:  45%|████    | 45/100 [")
	}
	waitFor(t, "worker 1 at 45% redrawn in place", func() bool { return redrawnAt45(buf.String()) })
	a.Add(55)
	b.Add(50)
	b.SetPostfix("done")
	a.Close()
	g.Close()
	g.Close()
	out := buf.String()
	final := out[strings.LastIndex(out, "\x1b[2A"):]
	lines := strings.Split(strings.TrimSuffix(final, "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "worker 1: 100%|████████| 100/100 [") || !strings.Contains(lines[1], "worker 2: 100%|████████| 50/50 [") || !strings.HasSuffix(lines[1], ", done]") {
		t.Errorf("final draw %q", lines)
	}
}

func TestGroupPlain(t *testing.T) {
	var buf syncBuffer
	g := progress.NewGroup(progress.Writer(&buf), progress.WithMode(progress.Plain), progress.PlainInterval(time.Hour))
	a := g.New(4, progress.Description("a"))
	g.New(0, progress.Description("b")).Add(3)
	a.Add(4)
	g.Close()
	want := "a: 4/4 100% ["
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], want) || !strings.HasPrefix(lines[1], "b: 3 it [") {
		t.Errorf("plain group lines %q", lines)
	}
	if strings.Contains(buf.String(), "\x1b") {
		t.Error("escape codes in plain mode")
	}
}

// A group closed with bars unfinished or of unknown total still ends.
func TestGroupCloseUnfinished(t *testing.T) {
	var buf syncBuffer
	g := progress.NewGroup(progress.Writer(&buf), progress.WithMode(progress.Terminal))
	g.New(10, progress.Description("half")).Add(5)
	g.New(0, progress.Description("open")).Add(3)
	done := make(chan struct{})
	go func() { g.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Close hangs on unfinished bars")
	}
	out := buf.String()
	if !strings.Contains(out, "half:  50%") || !strings.Contains(out, "open: ") || !strings.Contains(out, "open: 3 it [") {
		t.Errorf("output %q", out)
	}
}
