package progress_test

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/mp-go/mp/progress"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPlainLines(t *testing.T) {
	var buf syncBuffer
	b := progress.New(4, progress.Writer(&buf), progress.Description("load"), progress.PlainInterval(time.Millisecond))
	b.Add(2)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), "load: 2/4 50%") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.SetPostfix("loss=0.5")
	b.Describe("fit")
	b.Add(2)
	b.Close()
	b.Close()
	out := buf.String()
	if !strings.Contains(out, "load: 2/4 50% [") {
		t.Errorf("no progress line while running:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "fit: 4/4 100% [") || !strings.HasSuffix(last, "it/s] loss=0.5") {
		t.Errorf("last line %q", last)
	}
	if strings.Contains(out, "\r") {
		t.Error("plain output contains carriage returns")
	}
}

func TestStringForms(t *testing.T) {
	b := progress.New(0, progress.WithMode(progress.Off), progress.Unit("rows"))
	b.Add(7)
	if s := b.String(); !strings.HasPrefix(s, "7 rows [00:00, ") {
		t.Errorf("unknown total: %q", s)
	}
	b.SetTotal(14)
	if s := b.String(); !strings.HasPrefix(s, "7/14 50% [00:00<") || b.Total() != 14 {
		t.Errorf("known total: %q", s)
	}
	b.Set(3)
	if b.Count() != 3 {
		t.Errorf("Set: count %d", b.Count())
	}
	if err := b.Close(); err != nil {
		t.Error(err)
	}
}

func TestOffDrawsNothing(t *testing.T) {
	var buf syncBuffer
	b := progress.New(3, progress.Writer(&buf), progress.WithMode(progress.Off))
	b.Add(3)
	b.Close()
	if buf.String() != "" {
		t.Errorf("Off wrote %q", buf.String())
	}
}

func TestWrap(t *testing.T) {
	var buf syncBuffer
	var got []int
	for v := range progress.Wrap(slices.Values([]int{1, 2, 3}), 3, progress.Writer(&buf), progress.Description("w")) {
		got = append(got, v)
	}
	if !slices.Equal(got, []int{1, 2, 3}) || !strings.Contains(buf.String(), "w: 3/3 100%") {
		t.Errorf("Wrap: %v, output %q", got, buf.String())
	}
	buf = syncBuffer{}
	n := 0
	for range progress.Wrap2(slices.All([]string{"a", "b", "c"}), 3, progress.Writer(&buf)) {
		if n++; n == 2 {
			break
		}
	}
	if !strings.Contains(buf.String(), "2/3 67%") {
		t.Errorf("Wrap2 after break: %q", buf.String())
	}
}

// waitFor polls cond until it holds, failing the test after 10s: drawing
// happens on other goroutines (the bar's and mpb's), on their own schedule.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not seen within 10s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestTerminal draws through a pseudo-terminal, as a user's shell would
// show it: redrawn in place, tqdm's line (description, percent, bar,
// count/total, times, rate), and a description set at the end in the last
// line. The pseudo-terminal reports no size, as a fresh one (or some CI
// runners) does: the bar must still be drawn.
func TestTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	var out syncBuffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(&out, ptmx) // ends when tty is closed
	}()
	b := progress.New(100, progress.Writer(tty), progress.Description("squares"), progress.Interval(5*time.Millisecond), progress.Width(12))
	b.Add(45)
	waitFor(t, "the bar at 45%", func() bool {
		return strings.Contains(out.String(), "squares:  45%|█████     | 45/100 [")
	})
	b.Add(55)
	b.Describe("done")
	b.Close()
	tty.Close()
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("reading the pseudo-terminal did not end")
	}
	s := out.String()
	i := strings.LastIndex(s, "\x1b[1A\x1b[J") // cursor up one line, erase it
	if i < 0 {
		t.Fatalf("bar not redrawn in place:\n%q", s)
	}
	last := s[i+len("\x1b[1A\x1b[J"):]
	if !strings.HasPrefix(last, "done: 100%|██████████| 100/100 [") || !strings.Contains(last, " it/s]") {
		t.Errorf("last line %q", last)
	}
	if !strings.HasSuffix(s, "\n") {
		t.Errorf("Close did not end the line: %q", s[max(0, len(s)-40):])
	}
}

// An unknown total draws no bar and no percent on a terminal, as tqdm.
func TestTerminalUnknownTotal(t *testing.T) {
	var buf syncBuffer
	b := progress.New(0, progress.Writer(&buf), progress.WithMode(progress.Terminal), progress.Unit("rows"), progress.Description("read"))
	b.Add(7)
	b.SetPostfix("file=a.csv")
	b.Close()
	s := buf.String()
	if !strings.HasPrefix(s, "read: 7 rows [") || !strings.HasSuffix(s, " rows/s, file=a.csv]\n") || strings.ContainsAny(s, "|%") {
		t.Errorf("output %q", s)
	}
}
