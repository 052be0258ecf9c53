package manager_test

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mp-go/mp/manager"
)

// Registered at package level: the server process has them too.
var (
	byLen    = manager.NewOrder("test.byLen", func(a, b string) int { return cmp.Compare(len(a), len(b)) })
	byAbsErr = manager.NewOrder("test.byAbs", func(a, b int) int { return cmp.Compare(max(a, -a), max(b, -b)) })
)

type unordered struct{ A int }

// List.Sort and List.Reverse (Python's l.sort(), l.sort(key=...,
// reverse=True), l.reverse()), on a server process and on NATS.
func TestListSortReverse(t *testing.T) {
	backends := []struct {
		name string
		opts func(t *testing.T) []manager.Option
	}{
		{"server", func(*testing.T) []manager.Option { return nil }},
		{"nats", func(t *testing.T) []manager.Option {
			return []manager.Option{manager.Cluster(natsServer(t)), manager.Bucket("sort")}
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			ctx := testCtx(t)
			m, err := manager.Start(ctx, be.opts(t)...)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Shutdown(ctx)

			ints := []int{3, -1, 1 << 40, 0, -1 << 40, 7, 3}
			li, err := manager.NewList(ctx, m, ints)
			if err != nil {
				t.Fatal(err)
			}
			ints64 := []uint64{math.MaxUint64, 0, 1 << 63, 5}
			lu, _ := manager.NewList(ctx, m, ints64)
			floats := []float64{2.5, math.NaN(), -1, math.Inf(1), 0.5}
			lf, _ := manager.NewList(ctx, m, floats)
			strs := []string{"pear", "fig", "apple", "kiwi", "Zed", ""}
			ls, _ := manager.NewList(ctx, m, strs)

			check := func(what string, got, want any, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if gs, ws := strings.ReplaceAll(fmt.Sprint(got), "NaN", "n"), strings.ReplaceAll(fmt.Sprint(want), "NaN", "n"); gs != ws {
					t.Fatalf("%s = %s, want %s", what, gs, ws)
				}
			}
			sorted := func(s []int) []int { s = slices.Clone(s); slices.Sort(s); return s }

			check("ints.Sort", all(t, li, li.Sort(ctx, manager.Ascending[int]())), sorted(ints), nil)
			check("ints.Sort(reverse)", all(t, li, li.Sort(ctx, manager.Descending[int]())), reversed(sorted(ints)), nil)
			check("ints.Reverse", all(t, li, li.Reverse(ctx)), sorted(ints), nil)
			check("the zero Order", all(t, li, li.Sort(ctx, manager.Order[int]{})), sorted(ints), nil)
			us := slices.Clone(ints64)
			slices.Sort(us)
			check("uint64s.Sort", all(t, lu, lu.Sort(ctx, manager.Ascending[uint64]())), us, nil)
			fs := slices.Clone(floats)
			slices.SortFunc(fs, cmp.Compare[float64])
			check("floats.Sort", all(t, lf, lf.Sort(ctx, manager.Ascending[float64]())), fs, nil)
			ss := slices.Clone(strs)
			slices.Sort(ss)
			check("strings.Sort", all(t, ls, ls.Sort(ctx, manager.Ascending[string]())), ss, nil)

			// A registered order (Python's key=len) is stable, and so is
			// its reverse (equal items keep their order).
			ls2, _ := manager.NewList(ctx, m, strs)
			check("Sort(byLen)", all(t, ls2, ls2.Sort(ctx, byLen)), []string{"", "fig", "Zed", "pear", "kiwi", "apple"}, nil)
			ls3, _ := manager.NewList(ctx, m, strs)
			check("Sort(byLen.Reversed)", all(t, ls3, ls3.Sort(ctx, byLen.Reversed())), []string{"apple", "pear", "kiwi", "fig", "Zed", ""}, nil)
			la, _ := manager.NewList(ctx, m, []int{-3, 2, 3, -2, 1})
			check("Sort(byAbs)", all(t, la, la.Sort(ctx, byAbsErr)), []int{1, 2, -2, -3, 3}, nil)

			// Items with no natural order, and an order never registered,
			// are errors that leave the list as it was.
			lx, _ := manager.NewList(ctx, m, []unordered{{2}, {1}})
			if err := lx.Sort(ctx, manager.Order[unordered]{}); !errors.Is(err, manager.ErrBadRequest) || !strings.Contains(err.Error(), "NewOrder") {
				t.Fatalf("Sort of structs with the natural order: %v", err)
			}
			if got, _ := lx.All(ctx); !slices.Equal(got, []unordered{{2}, {1}}) {
				t.Fatalf("a failed Sort changed the list: %v", got)
			}
			empty, _ := manager.NewList[int](ctx, m, nil)
			check("empty.Sort", all(t, empty, empty.Sort(ctx, manager.Ascending[int]())), []int{}, nil)
			check("empty.Reverse", all(t, empty, empty.Reverse(ctx)), []int{}, nil)
		})
	}
}

// all returns the list's items after the call that returned err.
func all[T any](t *testing.T, l *manager.List[T], err error) []T {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.All(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got == nil {
		got = []T{}
	}
	return got
}

func reversed[T any](s []T) []T {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}
