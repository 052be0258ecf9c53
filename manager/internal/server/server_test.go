package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// FuzzServerFrame feeds frames to a server's connection handler: whatever
// the bytes, it must neither panic nor hang, and answer with a reply or
// refuse the frame.
func FuzzServerFrame(f *testing.F) {
	calls := []*wire.Call{
		{ID: 1, Obj: 1, Op: "set", Args: [][]byte{{0x61, 'k'}, {0x01}}},
		{ID: 2, Obj: 1, Op: "apply", Name: "mp.add", Args: [][]byte{{0x61, 'k'}, {0x01}}},
		{ID: 3, Obj: 2, Op: "slice", N: -5, M: 3},
		{ID: 4, Obj: 3, Op: "get", N: 2, Flag: true},
		{ID: 5, Obj: 4, Op: "acquire", Flag: true},
		{ID: 6, Op: "new", Name: string(ops.KindArray), N: 3, Args: [][]byte{{0}}},
		{ID: 7, Obj: 5, Op: "wait"},
		{ID: 8, Op: "cancel", N: 4},
		{ID: 9, Obj: 2, Op: "insert", N: -100, Args: [][]byte{{1}}},
	}
	for _, c := range calls {
		f.Add(byte(wire.KindCall), wire.AppendCall(nil, c))
	}
	f.Add(byte(wire.KindReply), []byte{0xa0})
	f.Fuzz(func(t *testing.T, kind byte, p []byte) {
		s := New([]byte("k"), 1<<16, Limits{Items: 1 << 20, Waiting: 4096, Handshakes: 64, HandshakeTimeout: 5 * time.Second})
		for _, k := range []string{string(ops.KindDict), string(ops.KindList), string(ops.KindQueue), string(ops.KindLock), string(ops.KindBarrier), string(ops.KindNamespace), string(ops.KindValue), string(ops.KindEvent), string(ops.KindRLock), string(ops.KindSemaphore)} {
			call := &wire.Call{Name: k, N: 2, Args: [][]byte{{0}}}
			if _, err := s.create(nil, call); err != nil {
				t.Fatal(err)
			}
		}
		c := &conn{s: s, nc: nopConn{}, inflight: make(map[uint64]context.CancelFunc)}
		c.ctx, c.cancel = context.WithCancel(context.Background())
		var out bytes.Buffer
		c.w = wire.NewWriter(&out, s.maxFrame)
		c.handle(wire.Kind(kind), p, false)
		done := make(chan struct{})
		go func() {
			c.cancel() // ends the calls that wait
			c.close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the handler hangs")
		}
		c.wmu.Lock()
		c.w.Flush()
		c.wmu.Unlock()
		r := wire.NewReader(&out, 1<<20)
		if _, _, err := r.Read(); err != nil && err != io.EOF {
			t.Fatalf("the server wrote a bad frame: %v", err)
		}
	})
}

type nopConn struct{ net.Conn }

func (nopConn) Close() error { return nil }
