package mp

import (
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mp-go/mp/internal/procpool"
	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/internal/wire"
)

// BenchmarkRawExchange times Task/Results round trips with one worker
// process and no pool scheduling around them: with 1 item a Task, the
// floor for mp.Apply; with 1,000, what one worker costs per item with a
// round trip per chunk. ns/op is per item.
func BenchmarkRawExchange(b *testing.B) {
	for _, items := range []int{1, 1000} {
		b.Run(fmt.Sprintf("items=%d", items), func(b *testing.B) {
			p, err := NewPool(Processes(1))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			pw, err := p.backend.(*procpool.Backend).Spawn(9)
			if err != nil {
				b.Fatal(err)
			}
			defer pw.Close()
			args, _ := wire.MarshalSlice(make([]int, items))
			b.ResetTimer()
			for i := 0; i < b.N; i += items {
				if err := pw.Send(wire.KindTask, wire.Task{ID: uint64(i + 1), Func: "test.square", Args: args, N: items}); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < items; {
					_, frame, err := pw.Read(slog.Default())
					if err != nil {
						b.Fatal(err)
					}
					var res wire.Results
					if err := wire.Unmarshal(frame, &res); err != nil {
						b.Fatal(err)
					}
					got += res.N
				}
			}
		})
	}
}

// One encoding (decoding) in timeEvery is timed, the first included, and
// counts for timeEvery: Stats' EncodeTime and DecodeTime are estimates.
func TestStartTiming(t *testing.T) {
	var n atomic.Int64
	var timed []int
	for i := range 3 * timeEvery {
		if startTiming(&n) != 0 {
			timed = append(timed, i)
		}
	}
	if want := []int{0, timeEvery, 2 * timeEvery}; !slices.Equal(timed, want) {
		t.Fatalf("timed calls %v, want %v", timed, want)
	}
	p := &Pool{}
	start := sched.Now() - sched.Mono(time.Millisecond)
	p.timeEncode(start)
	p.timeDecode(0) // not timed: counts nothing
	if e, d := time.Duration(p.st.EncodeNanos.Load()), p.st.DecodeNanos.Load(); e < timeEvery*time.Millisecond || d != 0 {
		t.Fatalf("a timed millisecond counted %v (want %v or more), an untimed decoding %dns (want 0)", e, timeEvery*time.Millisecond, d)
	}
}
