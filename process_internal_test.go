package mp

import (
	"testing"
	"time"

	"github.com/mp-go/mp/internal/wire"
)

// BenchmarkRawExchange times a Task/Results round trip with one worker
// process and no pool around it: the floor for mp.Apply.
func BenchmarkRawExchange(b *testing.B) {
	p, err := NewPool(Processes(1))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	pw, err := spawnWorker(9, "bench", 10*time.Second, true)
	if err != nil {
		b.Fatal(err)
	}
	bk := p.backend.(*processBackend)
	if err := bk.setup(pw, 9); err != nil {
		b.Fatal(err)
	}
	pw.res.Fd()
	defer pw.close()
	args, _ := wire.MarshalSlice([]int{3})
	b.ResetTimer()
	for i := range b.N {
		if err := pw.send(wire.KindTask, wire.Task{ID: uint64(i + 1), Func: "test.square", Args: args, N: 1}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := pw.r.Read(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawExchange1000 is BenchmarkRawExchange with 1,000 items per
// Task: what one worker costs per item, with a round trip per chunk.
func BenchmarkRawExchange1000(b *testing.B) {
	p, err := NewPool(Processes(1))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	pw, err := spawnWorker(9, "bench", 10*time.Second, true)
	if err != nil {
		b.Fatal(err)
	}
	bk := p.backend.(*processBackend)
	if err := bk.setup(pw, 9); err != nil {
		b.Fatal(err)
	}
	pw.res.Fd()
	defer pw.close()
	in := make([]int, 1000)
	args, _ := wire.MarshalSlice(in)
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		if err := pw.send(wire.KindTask, wire.Task{ID: uint64(i + 1), Func: "test.square", Args: args, N: 1000}); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < 1000; {
			_, p, err := pw.r.Read()
			if err != nil {
				b.Fatal(err)
			}
			var res wire.Results
			if err := wire.Unmarshal(p, &res); err != nil {
				b.Fatal(err)
			}
			got += res.N
		}
	}
}
