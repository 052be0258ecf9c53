//go:build linux

package conformance

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/mp-go/mp"
)

type parentInfo struct {
	Pid  int
	Name string
}

var (
	// sendParentProcess is _TestProcess._test_send_parent_process.
	sendParentProcess = mp.Register("conf.sendParentProcess", func(ctx context.Context, w *mp.Conn[parentInfo]) (struct{}, error) {
		pp := mp.ParentProcess()
		if pp == nil {
			return struct{}{}, errors.New("parent_process() is None in a child")
		}
		return struct{}{}, w.Send(ctx, parentInfo{pp.Pid(), pp.Name()})
	})
	// createGrandchild is _TestProcess._test_create_grandchild_process:
	// it starts a grandchild that reports on it, then sleeps.
	createGrandchild = mp.Register("conf.createGrandchild", func(ctx context.Context, w *mp.Conn[string]) (struct{}, error) {
		p, err := mp.NewProcess(reportParentStatus, w)
		if err != nil {
			return struct{}{}, err
		}
		if err := p.Start(ctx); err != nil {
			return struct{}{}, err
		}
		select {
		case <-time.After(300 * time.Second):
		case <-ctx.Done():
		}
		return struct{}{}, nil
	})
	// reportParentStatus is _TestProcess._test_report_parent_status.
	reportParentStatus = mp.Register("conf.reportParentStatus", func(ctx context.Context, w *mp.Conn[string]) (struct{}, error) {
		status := func() string {
			if mp.ParentProcess().IsAlive() {
				return "alive"
			}
			return "not alive"
		}
		if err := w.Send(ctx, status()); err != nil {
			return struct{}{}, err
		}
		jctx, cancel := context.WithTimeout(ctx, long)
		defer cancel()
		mp.ParentProcess().Join(jctx)
		return struct{}{}, w.Send(ctx, status())
	})
)

func TestParentProcess(t *testing.T) {
	// CPython: _TestProcess.test_parent_process_attributes
	t.Run("test_parent_process_attributes", func(t *testing.T) {
		ctx := testCtx(t)
		if pp := mp.ParentProcess(); pp != nil {
			t.Fatalf("parent_process() in the program as started = %v, want nil", pp)
		}
		r, w := newPipe[parentInfo](t, false)
		p := startProcess(t, sendParentProcess, w)
		if err := p.Join(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := r.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Pid != os.Getpid() || got.Pid != mp.CurrentProcess().Pid() {
			t.Fatalf("parent_process().pid = %d, want %d", got.Pid, os.Getpid())
		}
		if got.Name != mp.CurrentProcess().Name() {
			t.Fatalf("parent_process().name = %q, want %q", got.Name, mp.CurrentProcess().Name())
		}
	})

	// CPython: _TestProcess.test_parent_process
	// Python's grandchild outlives the child it was started by and sees it
	// "not alive"; mp's dies with it (docs/python-differences.md): its copy
	// of the pipe closes instead, and the reader sees io.EOF.
	t.Run("test_parent_process", func(t *testing.T) {
		ctx := testCtx(t)
		r, w := newPipe[string](t, false)
		p := startProcess(t, createGrandchild, w)
		w.Close()
		if !r.Poll(long) {
			t.Fatal("could not communicate with the child process")
		}
		if status, err := r.Recv(ctx); err != nil || status != "alive" {
			t.Fatalf("the grandchild reports its parent %q, %v; want alive", status, err)
		}
		p.Terminate()
		var pe *mp.ProcessError
		if err := p.Join(ctx); err != nil && !errors.As(err, &pe) {
			t.Fatal(err)
		}
		if status, err := r.Recv(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("after the child's end: %q, %v; want io.EOF (the grandchild died with its parent)", status, err)
		}
	})
}
