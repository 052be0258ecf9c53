package manager

import (
	"testing"
	"time"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// TestReplyBeforeAWaitingCallIsSent: calls that arrive together are
// answered with one flush, after the last; when the last is one that
// waits (a Barrier's Wait, a cancel), the replies before it must still
// go out at once. They stayed in the buffer until the wait ended (on TCP,
// where no shared-memory ring carries them; the conformance suite hung
// on tcp/Barrier and tcp/Queue).
func TestReplyBeforeAWaitingCallIsSent(t *testing.T) {
	m := startT(t)
	nc, r, w := rawConn(t, m, m.key)
	sendCall(t, w, &wire.Call{ID: 1, Op: string(ops.ManagerNew), Name: string(ops.KindBarrier), N: 2})
	w.Flush()
	b := readReply(t, r)
	if b.Err != nil {
		t.Fatal(b.Err.Msg)
	}
	for _, tc := range []struct {
		name string
		last *wire.Call
	}{
		{"a Barrier's Wait", &wire.Call{ID: 3, Obj: uint64(b.N), Op: string(ops.BarrierWait)}},
		{"a cancel of a call that ended", &wire.Call{ID: 5, Op: ops.Cancel, N: 99}},
	} {
		id := tc.last.ID + 1
		// Both frames in one write: the server reads the second while
		// answering the first.
		w.Write(wire.KindCall, wire.AppendCall(nil, &wire.Call{ID: id, Obj: uint64(b.N), Op: string(ops.BarrierParties)}))
		w.Write(wire.KindCall, wire.AppendCall(nil, tc.last))
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			rep := readReply(t, r)
			if rep.ID == id {
				if rep.N != 2 {
					t.Fatalf("Parties = %d", rep.N)
				}
				break
			}
		}
	}
}
