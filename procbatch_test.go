package mp_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/progress"
)

// awaitSeen is an item of the batching test: item 0 returns at once,
// items 1 to slowItems after 5 ms each (beats of the worker's clock pass,
// even if a busy machine delays some), the others wait (up to 10 s) for
// the file Path that the caller writes when it has a result.
type awaitSeen struct {
	Path string
	X    int
}

func (a awaitSeen) wait() int {
	switch {
	case a.X == 0:
		return 0
	case a.X <= slowItems:
		time.Sleep(5 * time.Millisecond)
		return 0
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if _, err := os.Stat(a.Path); err == nil {
			return 1
		}
	}
	return -1
}

const slowItems = 20

var (
	seenInt = mp.Register("test.seenInt", mp.Plain(func(a awaitSeen) int { return a.wait() }))
	seenStr = mp.Register("test.seenStr", mp.Plain(func(a awaitSeen) string { return strconv.Itoa(a.wait()) }))
)

// A worker sends the results of a chunk's finished items while the rest
// of the chunk runs: after the first item that ends a millisecond or more
// after the last batch (internal/pacer), on both of its paths (results
// that are numbers, and the rest). Here the chunk's later items wait for
// the caller's progress bar to count a result, which it could not before
// the chunk's end if the worker sent them only then.
func TestChunkResultsArriveWhileItRuns(t *testing.T) {
	p := newProcPool(t)
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, items []awaitSeen, bar *progress.Bar) ([]string, error)
	}{
		{"numbers", func(ctx context.Context, items []awaitSeen, bar *progress.Bar) ([]string, error) {
			r, err := mp.MapAsync(ctx, p, seenInt, items, mp.Chunksize(len(items)), mp.ProgressBar(bar)).Get(ctx)
			var got []string
			for _, v := range r {
				got = append(got, strconv.Itoa(v))
			}
			return got, err
		}},
		{"strings", func(ctx context.Context, items []awaitSeen, bar *progress.Bar) ([]string, error) {
			return mp.MapAsync(ctx, p, seenStr, items, mp.Chunksize(len(items)), mp.ProgressBar(bar)).Get(ctx)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "seen")
			items := make([]awaitSeen, slowItems+4)
			for i := range items {
				items[i] = awaitSeen{Path: path, X: i}
			}
			bar := progress.New(int64(len(items)), progress.Writer(io.Discard))
			defer bar.Close()
			type out struct {
				got []string
				err error
			}
			done := make(chan out, 1)
			go func() {
				got, err := tc.run(context.Background(), items, bar)
				done <- out{got, err}
			}()
			for end := time.Now().Add(20 * time.Second); bar.Count() == 0; time.Sleep(100 * time.Microsecond) {
				if time.Now().After(end) {
					t.Fatal("no result counted in 20 s: the first item's result reached the caller only once the chunk ended")
				}
			}
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			var o out
			select {
			case o = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("the Map did not end in 60 s")
			}
			if o.err != nil {
				t.Fatal(o.err)
			}
			want := slices.Repeat([]string{"0"}, slowItems+1)
			want = append(want, "1", "1", "1")
			if !slices.Equal(o.got, want) {
				t.Fatalf("results %v, want %v (-1: an item gave up waiting for a result to be counted)", o.got, want)
			}
		})
	}
}
