package mp_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/browsertest"
)

// gated is an item of dashWork: it waits for its gate file.
type gated struct {
	Dir string
	I   int
}

// dashWork waits until the test opens item i's gate (a file), then
// succeeds, except item 3, which fails.
var dashWork = mp.Register("test.dashWork", func(ctx context.Context, g gated) (int, error) {
	gate := filepath.Join(g.Dir, strconv.Itoa(g.I))
	for {
		if _, err := os.Stat(gate); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	if g.I == 3 {
		return 0, errors.New("item three is bad")
	}
	return g.I, nil
})

// The dashboard in a real browser (headless Chromium driven by
// chromedp): while a Map runs on a process pool, the page's numbers
// change and match Stats(); it lists both worker processes with their
// PIDs and memory, which workers are busy, and the failed item with its
// error.
func TestDashboardInABrowser(t *testing.T) {
	browser := browsertest.New(t)
	pool, err := mp.NewPool(mp.Processes(2), mp.Dashboard("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	url := pool.DashboardURL()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("DashboardURL() = %q, want a loopback address", url)
	}
	dir := t.TempDir()
	open := func(from, to int) {
		for i := from; i < to; i++ {
			if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	items := make([]gated, 10)
	for i := range items {
		items[i] = gated{dir, i}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fut := mp.MapAsync(ctx, pool, dashWork, items, mp.Chunksize(1), mp.Partial())

	if err := chromedp.Do(browser, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	// page reads the text of selector sel on the page.
	page := func(sel string) string {
		c, cancel := context.WithTimeout(browser, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(c, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)))
		if err != nil {
			t.Fatalf("reading %s on the page: %v", sel, err)
		}
		return s
	}
	// settle waits until Stats satisfies ok, then until the page shows
	// what that snapshot says for each selector.
	settle := func(what string, ok func(mp.Stats) bool, want func(mp.Stats) map[string]string) mp.Stats {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		var st mp.Stats
		for st = pool.Stats(); !ok(st); st = pool.Stats() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: Stats never got there: %+v", what, st)
			}
			time.Sleep(10 * time.Millisecond)
		}
		for sel, w := range want(st) {
			for got := page(sel); got != w; got = page(sel) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: the page shows %s = %q, Stats() says %q", what, sel, got, w)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		return st
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	// still: both workers wait at a gate, and the counts add up (a
	// snapshot taken while a worker moves from one item to the next shows
	// one running, and the page then moves on to two: it never settles on
	// what that snapshot said)
	still := func(s mp.Stats) bool {
		return s.Busy == 2 && s.Running == 2 && s.Done+s.Failed+s.Running+s.Queued == 10
	}

	// nothing is open: both workers wait in an item
	st := settle("at the start", still, func(s mp.Stats) map[string]string {
		return map[string]string{"#run-1 .done": "0", "#run-1 .running": "2", "#run-1 .queued": n(s.Queued), "#run-1 .total": "10"}
	})
	for _, w := range st.PerWorker {
		if w.PID <= 0 {
			t.Fatalf("Stats().PerWorker has no PID for a worker process: %+v", st.PerWorker)
		}
		row := fmt.Sprintf(`#run-1 tr.worker[data-id="%d"]`, w.ID)
		settle("worker row", func(mp.Stats) bool { return true }, func(mp.Stats) map[string]string {
			return map[string]string{row + " .pid": strconv.Itoa(w.PID), row + " .state": "busy"}
		})
		c, cancel := context.WithTimeout(browser, 10*time.Second)
		rss, err := chromedp.Run(c, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).dataset.bytes`, row+" .wrss")))
		cancel()
		if b, _ := strconv.ParseInt(rss, 10, 64); err != nil || b < 1<<20 {
			t.Errorf("worker %d: the page shows %q bytes of memory (%v), want its process's resident memory", w.ID, rss, err)
		}
	}

	// 0..4 open: 4 done, item 3 failed
	open(0, 5)
	settle("items 0-4", func(s mp.Stats) bool { return s.Done == 4 && s.Failed == 1 && still(s) }, func(s mp.Stats) map[string]string {
		return map[string]string{"#run-1 .done": "4", "#run-1 .failed": "1", "#run-1 .running": "2", "#run-1 .queued": n(s.Queued)}
	})
	errText := page("#run-1 li.error")
	if !strings.Contains(errText, "item three is bad") || !strings.Contains(errText, "#3") {
		t.Errorf("the page's error list shows %q, want item #3 and its error", errText)
	}
	if rate := page("#run-1 .rate"); rate == "" {
		t.Error("the page shows no rate")
	}

	// the rest: the call ends
	open(5, 10)
	if _, err := fut.Get(ctx); err == nil {
		t.Error("the Map with a failing item returned no error")
	}
	settle("all items", func(s mp.Stats) bool { return s.Done == 9 && s.Failed == 1 }, func(s mp.Stats) map[string]string {
		return map[string]string{"#run-1 .done": "9", "#run-1 .failed": "1", "#run-1 .running": "0", "#run-1 .queued": "0", "#run-1 .pct": "100.0%", "#run-1 .eta": "0.0 s"}
	})
}
