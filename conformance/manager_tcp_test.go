//go:build linux

// The tests in this file use the manager's TCP transport (issue 12 §3,
// manager.Listen).

package conformance

import (
	"context"
	"testing"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/manager"
)

// TestRemoteManagerTCP ports _TestRemoteManager and _TestManagerRestart as
// CPython runs them: the server on (HOST, 0), over TCP.
func TestRemoteManagerTCP(t *testing.T) {
	// CPython: _TestRemoteManager.test_remote
	t.Run("test_remote_tcp", func(t *testing.T) {
		ctx := testCtx(t)
		key := []byte("0123456789abcdef0123456789abcdef")
		m := startManager(t, manager.Listen("tcp", "127.0.0.1:0"), manager.AuthKey(key))
		p := startProcess(t, putter, remoteArgs{Address: m.Address(), AuthKey: key}, mp.Daemon(true))
		m2, err := manager.Connect(ctx, m.Address(), key)
		if err != nil {
			t.Fatal(err)
		}
		defer m2.Close()
		q, err := manager.NewQueue[[]any](ctx, m2, 0, manager.Named("get_queue"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := q.Get(ctx)
		if err != nil || len(got) != len(remoteValues) || got[0] != "hello world" || got[5] != "привіт світ" {
			t.Fatalf("queue.get() = %#v, %v", got, err)
		}
		p.Join(ctx)
	})

	// CPython: _TestManagerRestart.test_rapid_restart
	t.Run("test_rapid_restart_tcp", func(t *testing.T) {
		ctx := testCtx(t)
		key := []byte("restart key")
		first := startManager(t, manager.Listen("tcp", "127.0.0.1:0"), manager.AuthKey(key))
		addr := first.Address()
		if err := first.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		// the same port again, at once (CPython's SO_REUSEADDR check)
		hostPort := addr[len("tcp://"):]
		m, err := manager.Start(ctx, manager.Listen("tcp", hostPort), manager.AuthKey(key))
		if err != nil {
			t.Fatalf("restart on %s: %v", hostPort, err)
		}
		defer m.Shutdown(context.Background())
		p := startProcess(t, putter, remoteArgs{Address: m.Address(), AuthKey: key})
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		q, _ := manager.NewQueue[[]any](ctx, m, 0, manager.Named("get_queue"))
		if got, err := q.Get(ctx); err != nil || got[0] != "hello world" {
			t.Fatalf("get() = %v, %v", got, err)
		}
	})
}
