package registry

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/mp-go/mp/internal/pacer"
	"github.com/mp-go/mp/internal/wire"
)

// echo is a Func that returns its argument's length.
type echo struct{ err error }

func (e echo) Call(_ context.Context, arg []byte) (any, error) { return len(arg), e.err }
func (echo) RunBatch(context.Context, *wire.Task, *pacer.Due, func(*wire.Results) error) (<-chan struct{}, error) {
	return nil, nil
}

var _ Func = echo{}

func TestRegistry(t *testing.T) {
	boom := errors.New("boom")
	if !Add("test.b", echo{}) || !Add("test.a", echo{err: boom}) {
		t.Fatal("Add refused a new name")
	}
	if Add("test.a", echo{}) {
		t.Error("Add took a name twice")
	}
	if got := Names(); !slices.IsSorted(got) || !slices.Contains(got, "test.a") || !slices.Contains(got, "test.b") {
		t.Errorf("Names() = %v, want both names, sorted", got)
	}
	for _, tc := range []struct {
		name   string
		ok     bool
		result any
		err    error
	}{
		{"test.b", true, 3, nil},
		{"test.a", true, 3, boom},
		{"test.none", false, nil, nil},
	} {
		r, ok, err := Call(context.Background(), tc.name, []byte("abc"))
		if ok != tc.ok || r != tc.result || !errors.Is(err, tc.err) {
			t.Errorf("Call(%q) = %v, %v, %v; want %v, %v, %v", tc.name, r, ok, err, tc.result, tc.ok, tc.err)
		}
	}
}

func TestClusterRegisteredOnce(t *testing.T) {
	if LinkedCluster() != nil {
		t.Fatal("a cluster backend is registered without package cluster")
	}
	SetCluster(stubCluster{})
	if LinkedCluster() == nil {
		t.Fatal("SetCluster did not register")
	}
	defer func() {
		if recover() == nil {
			t.Error("a second SetCluster did not panic")
		}
	}()
	SetCluster(stubCluster{})
}

type stubCluster struct{}

func (stubCluster) Dial(Config) (Transport, error) { return nil, errors.New("stub") }
func (stubCluster) Serve(string) int               { return 0 }

var _ Cluster = stubCluster{}
