package manager

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

func startT(t *testing.T) *Manager {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return m
}

// rawConn dials the server and, if key is not nil, authenticates.
func rawConn(t *testing.T, m *Manager, key []byte) (net.Conn, *wire.Reader, *wire.Writer) {
	t.Helper()
	nc, err := net.Dial("unix", m.Address())
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

// readFatal reads the server's parting Reply (ID 0) and the end of the
// connection.
func readFatal(t *testing.T, r *wire.Reader) string {
	t.Helper()
	kind, p, err := r.Read()
	if err != nil {
		t.Fatalf("no parting reply: %v", err)
	}
	var rep wire.Reply
	if kind != wire.KindReply || wire.DecodeReply(p, &rep) != nil || rep.ID != 0 || rep.Err == nil {
		t.Fatalf("not a parting reply: kind %d %+v", kind, rep)
	}
	if _, _, err := r.Read(); err == nil {
		t.Fatal("the connection stays open after a fatal error")
	}
	return rep.Err.Msg
}

func TestBadClientsAreRefusedOthersServed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := startT(t)
	d, err := NewDict[string, int](ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		if err := d.Set(ctx, step, 1); err != nil {
			t.Fatalf("after %s, the good client fails: %v", step, err)
		}
	}

	if _, err := Connect(ctx, m.Address(), []byte("wrong key")); !errors.Is(err, ErrAuth) {
		t.Fatalf("wrong authkey: %v", err)
	} else if !strings.Contains(err.Error(), "wrong authkey") {
		t.Fatalf("the error does not say why: %v", err)
	}
	check("wrong key")

	// A client that says nothing is no harm: the others go on.
	nc, _, _ := rawConn(t, m, nil)
	check("silent client")
	nc.Close()

	// Garbage instead of a handshake.
	nc, r, _ := rawConn(t, m, nil)
	r.Read() // the challenge
	nc.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	if _, _, err := r.Read(); err == nil {
		t.Fatal("garbage handshake: the connection stays open")
	}
	check("garbage handshake")

	cases := []struct {
		name  string
		frame []byte
		want  string
	}{
		{"oversized", header(1<<29, wire.KindCall), "too big"},
		{"unknown kind", header(3, 99), "unknown frame kind"},
		{"not a call", frame(wire.KindReply, []byte{0xa0}), "where a call was expected"},
		{"malformed call", frame(wire.KindCall, []byte{'C', 0xff, 0x01, 0x02}), "malformed call"},
		{"id 0", frame(wire.KindCall, wire.AppendCall(nil, &wire.Call{Op: "len", Obj: 1})), "ID 0"},
	}
	for _, tc := range cases {
		conn, r2, _ := rawConn(t, m, m.AuthKey())
		conn.Write(tc.frame)
		if msg := readFatal(t, r2); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q does not say %q", tc.name, msg, tc.want)
		}
		check(tc.name)
	}

	// Well-formed calls the server refuses: an error reply, the
	// connection stays.
	refused := []struct {
		call *wire.Call
		want error
	}{
		{&wire.Call{Obj: 999, Op: "len"}, ErrUnknown},
		{&wire.Call{Obj: d.id, Op: "launch-missiles"}, ErrUnknown},
		{&wire.Call{Op: "new", Name: "type:nope"}, ErrUnknown},
		{&wire.Call{Op: "new", Name: "teapot"}, ErrUnknown},
		{&wire.Call{Op: "nope"}, ErrUnknown},
		{&wire.Call{Obj: d.id, Op: "get"}, ErrBadRequest},
		{&wire.Call{Obj: d.id, Op: "apply", Name: "os/exec.Command", Args: [][]byte{{0x60}, {0x60}}}, ErrUnknown},
		{&wire.Call{Op: "new", Name: string(ops.KindBarrier), N: 0}, ErrBadRequest},
	}
	for _, tc := range refused {
		_, err := m.c.call(ctx, tc.call)
		if !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.call, err, tc.want)
		}
	}
	check("refused calls")
	// A call above the client's bound never leaves.
	small, err := Connect(ctx, m.Address(), m.AuthKey(), MaxMessage(1<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	sd, _ := NewDict[string, string](ctx, small, Named("small"))
	if err := sd.Set(ctx, "k", strings.Repeat("x", 2000)); !errors.Is(err, ErrTooBig) {
		t.Fatalf("a call above MaxMessage: %v", err)
	}
	if err := sd.Set(ctx, "k", "fits"); err != nil {
		t.Fatalf("after a refused big call: %v", err)
	}
}

func header(n uint32, kind wire.Kind) []byte {
	b := make([]byte, wire.HeaderSize)
	binary.LittleEndian.PutUint32(b, n)
	b[4] = byte(kind)
	return b
}

func frame(kind wire.Kind, p []byte) []byte {
	return append(header(uint32(len(p)), kind), p...)
}

func TestServerKilledMidCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := startT(t)
	q, _ := NewQueue[int](ctx, m, 0)
	l, _ := m.Lock(ctx)
	l.Lock(ctx)
	errs := make(chan error, 2)
	go func() { _, err := q.Get(ctx); errs <- err }()
	go func() { errs <- l.Lock(ctx) }()
	time.Sleep(50 * time.Millisecond) // both wait on the server (or are about to)
	if err := m.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrServerGone) {
				t.Fatalf("a call waiting when the server was killed: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a call waiting when the server was killed did not return")
		}
	}
	start := time.Now()
	if _, err := q.Qsize(ctx); !errors.Is(err, ErrServerGone) {
		t.Fatalf("a call after the kill: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("a call after the kill took long to fail")
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after a kill: %v", err)
	}
}

var connectJob = mp.Register("manager-internal-test.connect", func(ctx context.Context, a [2]string) (int, error) {
	m, err := Connect(ctx, a[0], []byte(a[1]))
	if err != nil {
		return 0, err
	}
	defer m.Close()
	d, err := NewDict[string, int](ctx, m, Named("scores"))
	if err != nil {
		return 0, err
	}
	v, _, err := d.Get(ctx, "answer")
	return v, err
})

func TestConnectFromAnotherProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := Start(ctx, AuthKey([]byte("a key the child knows")))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	d, _ := NewDict[string, int](ctx, m, Named("scores"))
	d.Set(ctx, "answer", 42)
	pool, _ := mp.NewPool(mp.Processes(1))
	defer pool.Close()
	got, err := mp.Apply(ctx, pool, connectJob, [2]string{m.Address(), string(m.AuthKey())})
	if err != nil || got != 42 {
		t.Fatalf("child read %d, %v", got, err)
	}
}
