package manager

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/server"
)

// serveT runs a server in this process (so that the test can measure its
// memory) on a Unix socket, until the test ends.
func serveT(t *testing.T, lim Limits) (s *server.Server, addr string) {
	t.Helper()
	addr = filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	if lim, err = lim.withDefaults(); err != nil {
		t.Fatal(err)
	}
	s = server.New([]byte("key"), wire.DefaultMaxFrame, server.Limits(lim))
	done := make(chan error, 1)
	go func() { done <- s.ServeUntil(context.Background(), ln) }()
	t.Cleanup(func() {
		s.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, addr
}

// dialT connects to addr; with key, it also authenticates.
func dialT(t *testing.T, addr string, key []byte) (net.Conn, *wire.Reader, *wire.Writer) {
	t.Helper()
	nc, err := net.Dial("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(time.Minute))
	r, w := wire.NewReader(nc, 1<<30), wire.NewWriter(nc, 1<<30)
	if key != nil {
		if err := clientHandshake(context.Background(), nc, r, w, key); err != nil {
			t.Fatal(err)
		}
	}
	return nc, r, w
}

// memory returns this process's heap and goroutine stacks in use.
func memory(gc bool) uint64 {
	if gc {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// sendCall writes one call.
func sendCall(t *testing.T, w *wire.Writer, call *wire.Call) {
	t.Helper()
	if err := w.Write(wire.KindCall, wire.AppendCall(nil, call)); err != nil {
		t.Fatal(err)
	}
}

// readReply reads the next reply.
func readReply(t *testing.T, r *wire.Reader) *wire.Reply {
	t.Helper()
	kind, p, err := r.Read()
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	rep := new(wire.Reply)
	if kind != wire.KindReply || wire.DecodeReply(p, rep) != nil {
		t.Fatalf("not a reply: kind %d", kind)
	}
	rep.Vals = nil // they alias the reader's buffer
	return rep
}

// isLimit says that rep is a refusal by a Limit, naming how to raise it.
func isLimit(rep *wire.Reply, field string) bool {
	return rep.Err != nil && errors.Is(replyErr(rep), ErrLimit) && strings.Contains(rep.Err.Msg, field)
}

// Defect 2.12: 8 strangers each announcing a 64 MiB Auth
// frame took the server from 14 MB to 541 MB.
func TestUnauthenticatedFrameBounded(t *testing.T) {
	_, addr := serveT(t, Limits{HandshakeTimeout: time.Minute})
	before := memory(true)
	var conns []net.Conn
	for range 8 {
		nc, r, _ := dialT(t, addr, nil)
		if kind, _, err := r.Read(); err != nil || kind != wire.KindAuth {
			t.Fatalf("no challenge: %v", err)
		}
		nc.Write(header(64<<20, wire.KindAuth))
		nc.Write(make([]byte, 1024)) // a little of it, then silence
		conns = append(conns, nc)
	}
	// The server must drop each at once (not at the handshake's deadline,
	// a minute away), and never hold the announced bytes.
	var peak uint64
	deadline := time.Now().Add(20 * time.Second)
	for _, nc := range conns {
		nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		for {
			peak = max(peak, memory(false))
			_, err := nc.Read(make([]byte, 1))
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if time.Now().After(deadline) {
					t.Fatalf("a connection announcing a 64 MiB Auth frame is still open after 20 s (peak memory +%d MiB)", (peak-before)>>20)
				}
				nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				continue
			}
			break // closed by the server
		}
	}
	if grew := int64(peak) - int64(before); grew > 16<<20 {
		t.Fatalf("8 unauthenticated connections grew the server by %d MiB", grew>>20)
	}
}

func TestHandshakesBounded(t *testing.T) {
	_, addr := serveT(t, Limits{Handshakes: 4, HandshakeTimeout: time.Minute})
	var silent []net.Conn
	for range 4 {
		nc, r, _ := dialT(t, addr, nil)
		if _, _, err := r.Read(); err != nil {
			t.Fatalf("no challenge for one of the first 4 strangers: %v", err)
		}
		silent = append(silent, nc)
	}
	// The fifth stranger is dropped at once, without a challenge.
	_, r, _ := dialT(t, addr, nil)
	if kind, _, err := r.Read(); err == nil {
		t.Fatalf("a fifth unauthenticated connection got a frame of kind %d, want it closed (Limits.Handshakes 4)", kind)
	}
	// Once one of them leaves, a client is served again.
	silent[0].Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		c := newClient(addr, []byte("key"), wire.DefaultMaxFrame)
		err := c.connect(ctx)
		c.close()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no client is served after a stranger left: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // the server notices the close
	}
}

func TestHandshakeTimeout(t *testing.T) {
	_, addr := serveT(t, Limits{HandshakeTimeout: 200 * time.Millisecond})
	nc, r, _ := dialT(t, addr, nil)
	r.Read() // the challenge; then say nothing
	start := time.Now()
	nc.SetReadDeadline(time.Now().Add(4 * time.Second))
	_, _, err := r.Read()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("a silent client is still connected 4 s after a 200 ms handshake deadline")
	}
	t.Logf("dropped after %v", time.Since(start))
}

// defect 2.12: a 28-byte call asking for an array of 2^24 took +394 MB;
// a frame of empty values costs the server 24 bytes of slot per byte.
func TestCallAllocationBounded(t *testing.T) {
	_, addr := serveT(t, Limits{})
	_, r, w := dialT(t, addr, []byte("key"))
	sendCall(t, w, &wire.Call{ID: 1, Op: "new", Name: string(ops.KindDict)})
	w.Flush()
	dict := readReply(t, r)
	cases := []struct {
		name string
		call *wire.Call
	}{
		{"array of 2^24", &wire.Call{ID: 2, Op: "new", Name: string(ops.KindArray), N: 1 << 24, Args: [][]byte{{0}}}},
		{"getmany of 4M empty keys", &wire.Call{ID: 3, Obj: uint64(dict.N), Op: "getmany", Args: make([][]byte, 4<<20)}},
		{"set of 4M empty values", &wire.Call{ID: 4, Obj: uint64(dict.N), Op: "set", Args: make([][]byte, 4<<20)}},
	}
	for _, tc := range cases {
		b := wire.AppendCall(nil, tc.call)
		before := memory(true)
		var peak uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				peak = max(peak, memory(false))
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		})
		w.Write(wire.KindCall, b)
		w.Flush()
		rep := readReply(t, r)
		close(stop)
		wg.Wait()
		if !isLimit(rep, "Limits.Items") {
			t.Errorf("%s: %+v, want refused by Limits.Items", tc.name, rep.Err)
		}
		// The frame itself (and the reader's copy) may be held: not 24
		// bytes per value.
		if grew := int64(peak) - int64(before) - 2*int64(len(b)); grew > 16<<20 {
			t.Errorf("%s: a %d-byte call grew the server by %d MiB", tc.name, len(b), grew>>20)
		}
	}
	// The connection goes on.
	sendCall(t, w, &wire.Call{ID: 5, Obj: uint64(dict.N), Op: "len"})
	w.Flush()
	if rep := readReply(t, r); rep.Err != nil {
		t.Fatalf("after refused calls: %+v", rep.Err)
	}
}

// defect 2.12: 200k waiting Gets took +1.08 GB.
func TestWaitingCallsBounded(t *testing.T) {
	const limit, calls = 1000, 20000
	_, addr := serveT(t, Limits{Waiting: limit})
	nc, r, w := dialT(t, addr, []byte("key"))
	sendCall(t, w, &wire.Call{ID: 1, Op: "new", Name: string(ops.KindQueue)})
	w.Flush()
	q := readReply(t, r)
	before := memory(true)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range calls {
			w.Write(wire.KindCall, wire.AppendCall(nil, &wire.Call{ID: uint64(2 + i), Obj: uint64(q.N), Op: "get", Flag: true}))
		}
		w.Flush()
	}()
	for range calls - limit {
		nc.SetReadDeadline(time.Now().Add(10 * time.Second)) // without the limit, none comes
		if rep := readReply(t, r); !isLimit(rep, "Limits.Waiting") {
			t.Fatalf("a waiting call beyond the limit: %+v, want refused by Limits.Waiting", rep.Err)
		}
	}
	if grew := int64(memory(true)) - int64(before); grew > 48<<20 {
		t.Fatalf("%d waiting calls grew the server by %d MiB", calls, grew>>20)
	}
	<-sent
	// The waiting ones are served: an item for one of them.
	sendCall(t, w, &wire.Call{ID: calls + 10, Obj: uint64(q.N), Op: "put", Args: [][]byte{{1}}})
	w.Flush()
	for range 2 {
		if rep := readReply(t, r); rep.Err != nil {
			t.Fatalf("after refused calls: %+v", rep.Err)
		}
	}
	nc.Close()
}
