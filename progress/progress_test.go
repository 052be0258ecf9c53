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

// TestTerminal draws through a pseudo-terminal, as a user's shell would
// show it: redrawn in place, with the description, count and percent.
func TestTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(&out, ptmx) // ends when tty is closed
	}()
	b := progress.New(100, progress.Writer(tty), progress.Description("squares"), progress.Interval(5*time.Millisecond))
	for range 100 {
		b.Add(1)
		time.Sleep(200 * time.Microsecond)
	}
	// Let the bar draw its full state, then change the description: the
	// final line must still show it.
	time.Sleep(30 * time.Millisecond)
	b.Describe("done")
	b.Close()
	tty.Close()
	select {
	case <-read:
	case <-time.After(10 * time.Second):
		t.Fatal("reading the pseudo-terminal did not end")
	}
	s := out.String()
	for _, want := range []string{"\r", "squares", "100%", "(100/100", "done"} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, s)
		}
	}
	if !strings.HasSuffix(s, "\n") {
		t.Errorf("Close did not end the line: %q", s[max(0, len(s)-40):])
	}
	if strings.Count(s, "\r") < 3 {
		t.Errorf("bar not redrawn in place:\n%q", s)
	}
}
