package manager_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager"
)

var (
	// initMark counts its runs in ns and records the process it ran in.
	initMark = mp.Register("manager_test.initMark", func(ctx context.Context, ns *manager.Namespace) (struct{}, error) {
		if _, err := manager.UpdateAttr(ctx, ns, "test", manager.Add(1)); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, ns.Set(ctx, "pid", os.Getpid())
	})
	initChan = mp.Register("manager_test.initChan", func(context.Context, chan int) (int, error) { return 0, nil })
	initFail = mp.Register("manager_test.initFail", func(context.Context, string) (int, error) {
		return 0, errors.New("no model file")
	})
)

// Initializer runs in the server process, before Start returns (Python's
// BaseManager.start(initializer, initargs)); its error fails Start.
func TestInitializer(t *testing.T) {
	ctx := testCtx(t)
	other := start(t)
	ns, err := other.Namespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ns.Set(ctx, "test", 0)
	m, err := manager.Start(ctx, manager.Initializer(initMark, ns))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := manager.Attr[int](ctx, ns, "test"); n != 1 || err != nil {
		t.Fatalf("ns.test after Start = %d, %v; want 1", n, err)
	}
	if pid, err := manager.Attr[int](ctx, ns, "pid"); pid == os.Getpid() || pid == 0 || err != nil {
		t.Fatalf("the initializer ran in process %d (this one is %d), %v", pid, os.Getpid(), err)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := manager.Start(ctx, manager.Initializer(initFail, "model.bin")); err == nil || !strings.Contains(err.Error(), "no model file") {
		t.Fatalf("Start with a failing initializer: %v", err)
	}
}

// An Initializer that cannot run is refused with a clear error.
func TestInitializerRefused(t *testing.T) {
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closure := mp.Fn(func(context.Context, int) (int, error) { return 0, nil })
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"zero Func", func() error {
			_, err := manager.Start(ctx, manager.Initializer(mp.Func[int, int]{}, 1))
			return err
		}, "zero"},
		{"closure", func() error {
			_, err := manager.Start(ctx, manager.Initializer(closure, 1))
			return err
		}, "mp.Register"},
		{"unencodable argument", func() error {
			_, err := manager.Start(ctx, manager.Initializer(initChan, make(chan int)))
			return err
		}, "argument"},
		{"Serve", func() error {
			return manager.Serve(ctx, ln, []byte("k"), manager.Initializer(initFail, "x"))
		}, "manager.Serve"},
		{"Cluster", func() error {
			_, err := manager.Start(ctx, manager.Cluster("nats://127.0.0.1:1"), manager.Initializer(initFail, "x"))
			return err
		}, "manager.Cluster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, mp.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v; want mp.ErrInvalidOption naming %q", err, tc.want)
			}
		})
	}
}
