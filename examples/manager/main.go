// Command manager shows Python's Manager() types in one program (the list
// in the notes: dict, list, Namespace, Queue, locks, Value): a shared dict
// filled by a process pool, a Namespace read by children, a managed Queue
// between two processes, and a shared counter that needs no lock.
//
//	go run ./examples/manager
package main

import (
	"context"
	"fmt"
	"log"
	"slices"
	"strings"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager"
)

// shared is what every task and child gets: proxies are handles, so they
// travel in arguments like any value.
type shared struct {
	Words  *manager.Dict[string, int]
	Config *manager.Namespace
	Lines  *manager.Queue[string]
	Done   *manager.Value[int]
}

type countJob struct {
	S    shared
	Line string
}

// countWords runs in pool workers: it reads the config from the
// Namespace, counts each word in the shared dict (an atomic update on the
// server, no lock), and counts the line as done.
var countWords = mp.Register("manager-example.count", func(ctx context.Context, j countJob) (int, error) {
	var minLen int
	if err := j.S.Config.Get(ctx, "min_len", &minLen); err != nil {
		return 0, err
	}
	n := 0
	for _, w := range strings.Fields(strings.ToLower(j.Line)) {
		w = strings.Trim(w, ".,;:!?")
		if len(w) < minLen {
			continue
		}
		if _, err := j.S.Words.Update(ctx, w, manager.Add(1)); err != nil {
			return 0, err
		}
		n++
	}
	_, err := j.S.Done.Update(ctx, manager.Add(1))
	return n, err
})

// produce runs in a child process: it puts lines on the managed Queue,
// then an empty line to say it is done.
var produce = mp.Register("manager-example.produce", func(ctx context.Context, s shared) (struct{}, error) {
	var text string
	if err := s.Config.Get(ctx, "text", &text); err != nil {
		return struct{}{}, err
	}
	lines := strings.Split(text, "\n")
	if err := s.Lines.PutMany(ctx, lines); err != nil { // one round trip
		return struct{}{}, err
	}
	return struct{}{}, s.Lines.Put(ctx, "")
})

const text = `the quick brown fox jumps over the lazy dog
the dog sleeps and the fox runs
a fox and a dog are friends at last`

func main() {
	mp.Main()
	ctx := context.Background()

	m, err := manager.Start(ctx) // with Manager() as m:
	if err != nil {
		log.Fatal(err)
	}
	defer m.Shutdown(ctx)

	words, err := manager.NewDict[string, int](ctx, m) // m.dict()
	if err != nil {
		log.Fatal(err)
	}
	config, _ := m.Namespace(ctx) // m.Namespace()
	config.Set(ctx, "min_len", 3)
	config.Set(ctx, "text", text)
	lines, _ := manager.NewQueue[string](ctx, m, 0) // m.Queue()
	done, _ := manager.NewValue(ctx, m, 0)          // m.Value('i', 0)
	s := shared{words, config, lines, done}

	// A managed Queue between two processes: a child produces the lines.
	producer, err := mp.NewProcess(produce, s)
	if err != nil {
		log.Fatal(err)
	}
	if err := producer.Start(ctx); err != nil {
		log.Fatal(err)
	}
	var jobs []countJob
	for {
		line, err := lines.Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if line == "" {
			break
		}
		jobs = append(jobs, countJob{s, line})
	}
	if err := producer.Join(ctx); err != nil {
		log.Fatal(err)
	}

	// A shared dict filled by a pool.
	pool, err := mp.NewPool(mp.Processes(2))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	counted, err := mp.Map(ctx, pool, countWords, jobs)
	if err != nil {
		log.Fatal(err)
	}

	items, err := words.Items(ctx) // one round trip for the whole dict
	if err != nil {
		log.Fatal(err)
	}
	slices.SortFunc(items, func(a, b manager.Item[string, int]) int {
		if a.Value != b.Value {
			return b.Value - a.Value
		}
		return strings.Compare(a.Key, b.Key)
	})
	n, _ := done.Get(ctx)
	fmt.Printf("%d lines counted by the pool (%d words of 3 letters or more)\n", n, sum(counted))
	for _, it := range items[:4] {
		fmt.Printf("%-4s %d\n", it.Key, it.Value)
	}
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}
