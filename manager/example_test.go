package manager_test

import (
	"context"
	"fmt"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager"
)

// tally runs in a worker process: the dict proxy came in its argument.
var tally = mp.Register("manager-example.tally", func(ctx context.Context, a struct {
	D    *manager.Dict[string, int]
	Word string
}) (int, error) {
	return a.D.Update(ctx, a.Word, manager.Add(1)) // atomic on the server
})

func Example() {
	ctx := context.Background()
	m, err := manager.Start(ctx) // Python: with Manager() as m:
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Shutdown(ctx)
	d, _ := manager.NewDict[string, int](ctx, m) // m.dict()

	pool, _ := mp.NewPool(mp.Processes(2))
	defer pool.Close()
	type arg = struct {
		D    *manager.Dict[string, int]
		Word string
	}
	words := []arg{{d, "go"}, {d, "py"}, {d, "go"}, {d, "go"}}
	if _, err := mp.Map(ctx, pool, tally, words); err != nil {
		fmt.Println(err)
		return
	}
	counts, _ := d.Copy(ctx)
	fmt.Println(counts)
	// Output: map[go:3 py:1]
}

// Stack is a type whose values live in the manager's server.
type Stack struct{ items []string }

var (
	stackType = manager.Register("example.stack", func() *Stack { return &Stack{} })
	stackPush = manager.NewMethod(stackType, "Push", func(_ context.Context, s *Stack, v string) (int, error) {
		s.items = append(s.items, v)
		return len(s.items), nil
	})
	stackPop = manager.NewMethod(stackType, "Pop", func(_ context.Context, s *Stack, _ struct{}) (string, error) {
		if len(s.items) == 0 {
			return "", fmt.Errorf("empty stack")
		}
		v := s.items[len(s.items)-1]
		s.items = s.items[:len(s.items)-1]
		return v, nil
	})
)

// A registered type, as Python's BaseManager.register: only its
// registered methods can be called, with data, never code.
func ExampleRegister() {
	ctx := context.Background()
	m, err := manager.Start(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Shutdown(ctx)
	s, _ := stackType.New(ctx, m)
	stackPush.Call(ctx, s, "a")
	n, _ := stackPush.Call(ctx, s, "b")
	top, _ := stackPop.Call(ctx, s, struct{}{})
	fmt.Println(n, top)
	stackPop.Call(ctx, s, struct{}{}) // "a"
	_, err = stackPop.Call(ctx, s, struct{}{})
	fmt.Println(err)
	// Output:
	// 2 b
	// empty stack
}

func ExampleManager_Lock() {
	ctx := context.Background()
	m, err := manager.Start(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Shutdown(ctx)
	l, _ := m.Lock(ctx) // m.Lock(); pass it to processes like any argument
	l.Lock(ctx)
	ok, _ := l.TryLock(ctx)
	fmt.Println("second TryLock:", ok)
	l.Unlock()
	// Output: second TryLock: false
}
