package registered

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"go.uber.org/goleak"
)

// testType is registered once, by TestMain (the registries are the
// process's: -count reruns the tests, not the registration).
var testType = &Type{Name: "registered-test.t", New: func() any { return new(int) }}

func TestMain(m *testing.M) {
	double := func(_ context.Context, old []byte, found bool, _ []byte) ([]byte, error) {
		if !found {
			return nil, errors.New("missing")
		}
		return append(old, old...), nil
	}
	byLength := func(items [][]byte, desc bool) error {
		Permute(items, func(i, j int) int {
			c := len(items[i]) - len(items[j])
			if desc {
				return -c
			}
			return c
		})
		return nil
	}
	method := func(context.Context, any, []byte) ([]byte, error) { return nil, nil }
	if !AddUpdate("registered-test.double", double) ||
		!AddOrder("registered-test.by-length", byLength) ||
		!AddOrder("registered-test.fails", func([][]byte, bool) error { return errors.New("no") }) ||
		!AddType(testType) || !testType.AddMethod("b", method) || !testType.AddMethod("a", method) {
		fmt.Fprintln(os.Stderr, "FAIL: a registry refused a new name")
		os.Exit(1)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func enc(t *testing.T, vs ...any) [][]byte {
	t.Helper()
	out := make([][]byte, len(vs))
	for i, v := range vs {
		b, err := wire.MarshalDeterministic(v)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// codeOf returns the code of an *ops.Error, or "".
func codeOf(err error) ops.Code {
	var e *ops.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestSort(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items [][]byte
		order string
		desc  bool
		want  [][]byte
		code  ops.Code
	}{
		{"natural ints", enc(t, 3, -1, 2), OrderNatural, false, enc(t, -1, 2, 3), ""},
		{"natural descending", enc(t, "a", "c", "b"), OrderNatural, true, enc(t, "c", "b", "a"), ""},
		{"natural, mixed", enc(t, 1, "a"), OrderNatural, false, nil, ops.CodeBadArgs},
		{"natural, no order", enc(t, []int{1}), OrderNatural, false, nil, ops.CodeBadArgs},
		{"registered", enc(t, "ccc", "a", "bb"), "registered-test.by-length", false, enc(t, "a", "bb", "ccc"), ""},
		{"unknown", enc(t, 1), "registered-test.none", false, nil, ops.CodeUnknownOp},
		{"failing", enc(t, 1), "registered-test.fails", false, nil, ops.CodeBadArgs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Sort(tc.items, tc.order, tc.desc)
			if codeOf(err) != tc.code || (tc.code == "") != (err == nil) {
				t.Fatalf("Sort: %v (code %q), want code %q", err, codeOf(err), tc.code)
			}
			if err == nil && fmt.Sprint(tc.items) != fmt.Sprint(tc.want) {
				t.Fatalf("Sort = %v, want %v", tc.items, tc.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	if AddUpdate("registered-test.double", nil) {
		t.Fatal("AddUpdate took a name twice")
	}
	for _, tc := range []struct {
		name  string
		fn    string
		found bool
		want  string
		code  ops.Code
	}{
		{"runs", "registered-test.double", true, "abab", ""},
		{"its error", "registered-test.double", false, "", ops.CodeRemote},
		{"unknown", "registered-test.none", true, "", ops.CodeUnknownOp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Apply(context.Background(), tc.fn, []byte("ab"), tc.found, nil)
			if codeOf(err) != tc.code || (tc.code == "") != (err == nil) || string(got) != tc.want {
				t.Fatalf("Apply = %q, %v; want %q, code %q", got, err, tc.want, tc.code)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	ty := testType
	if AddType(&Type{Name: ty.Name}) {
		t.Fatal("AddType took a name twice")
	}
	if got, ok := LookupType(ty.Name); !ok || got != ty {
		t.Fatal("LookupType does not find the type")
	}
	if ty.AddMethod("a", nil) {
		t.Fatal("AddMethod took a name twice")
	}
	if _, ok := ty.Method("a"); !ok {
		t.Fatal("Method does not find a")
	}
	if got := fmt.Sprint(ty.MethodNames()); got != "[a b]" {
		t.Fatalf("MethodNames = %s", got)
	}
}

func TestBarrierAction(t *testing.T) {
	if err := BarrierAction(context.Background(), ""); err != nil {
		t.Fatalf("no action: %v", err)
	}
	if err := BarrierAction(context.Background(), "registered-test.none"); err == nil {
		t.Fatal("an unknown action ran")
	}
}
