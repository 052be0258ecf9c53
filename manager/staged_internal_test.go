package manager

import (
	"errors"
	"testing"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// The server's side of a batch in parts: nothing applies before the
// commit; a dropped (unstaged) batch is gone; a commit frees its stage
// and carries only object calls or "new".
func TestStagingProtocol(t *testing.T) {
	s, addr := serveT(t, Limits{Items: 4})
	_, r, w := dialT(t, addr, []byte("key"))
	call := func(c *wire.Call) *wire.Reply {
		t.Helper()
		sendCall(t, w, c)
		w.Flush()
		return readReply(t, r)
	}
	ints := func(vs ...int64) [][]byte {
		out := make([][]byte, len(vs))
		for i, v := range vs {
			out[i] = wire.AppendInt(nil, v)
		}
		return out
	}
	list := call(&wire.Call{ID: 1, Op: "new", Name: string(ops.KindList)})
	obj := uint64(list.N)
	length := func(id uint64) int64 { return call(&wire.Call{ID: id, Obj: obj, Op: "len"}).N }

	if rep := call(&wire.Call{ID: 2, Op: ops.Stage, N: 7, Args: ints(1, 2, 3, 4)}); rep.Err != nil {
		t.Fatalf("stage: %v", rep.Err)
	}
	call(&wire.Call{ID: 3, Op: ops.Stage, N: 7, Args: ints(5, 6, 7, 8)})
	if n := length(4); n != 0 {
		t.Fatalf("staged values applied before the commit: len %d", n)
	}
	commit := func(id uint64, stage int64, inner *wire.Call) *wire.Reply {
		return call(&wire.Call{ID: id, Op: ops.Commit, N: stage, Args: [][]byte{wire.AppendCall(nil, inner)}})
	}
	if rep := commit(5, 7, &wire.Call{Obj: obj, Op: "extend", Args: ints(9)}); rep.Err != nil || rep.N != 9 {
		t.Fatalf("commit of 9 values: %+v", rep)
	}
	if n := s.Staged(); n != 0 {
		t.Fatalf("%d stages left after the commit", n)
	}
	// A dropped batch never applies.
	call(&wire.Call{ID: 6, Op: ops.Stage, N: 8, Args: ints(1, 2)})
	call(&wire.Call{ID: 7, Op: ops.Unstage, N: 8})
	if rep := commit(8, 8, &wire.Call{Obj: obj, Op: "extend", Args: ints(10)}); rep.Err != nil || rep.N != 10 {
		t.Fatalf("a commit after its stage was dropped: %+v (want only its own value added)", rep)
	}
	// A commit carries no server operation but "new".
	call(&wire.Call{ID: 9, Op: ops.Stage, N: 9, Args: ints(1)})
	if rep := commit(10, 9, &wire.Call{Op: "shutdown"}); rep.Err == nil || !errors.Is(replyErr(rep), ErrBadRequest) {
		t.Fatalf("a commit of shutdown: %+v", rep)
	}
	if n := s.Staged(); n != 0 {
		t.Fatalf("%d stages left after a refused commit", n)
	}
	if rep := commit(11, 10, &wire.Call{Op: "new", Name: string(ops.KindList), Args: ints(1, 2)}); rep.Err != nil || rep.N == 0 {
		t.Fatalf("a commit of new: %+v", rep)
	}
}
