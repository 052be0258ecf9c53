package ops

import "testing"

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		kind  Kind
		op    string
		ok    bool
		waits Waits
	}{
		{KindDict, string(DictGet), true, Never},
		{KindDict, "launch-missiles", false, Never},
		{KindDict, string(QueueJoin), false, Never}, // another kind's
		{KindArray, string(ListSet), true, Never},   // a List's row
		{KindArray, string(ListExtend), false, Never},
		{KindArray, string(ListClear), false, Never},
		{KindList, string(ListExtend), true, Never},
		{KindBounded, string(SemaphoreAcquire), true, IfFlag},
		{"type:counter", string(TypeCall), true, Always},
		{KindQueue, string(QueueJoin), true, Always},
		{KindManager, string(ManagerNew), true, Never},
	} {
		row, ok := Lookup(tc.kind, tc.op)
		if ok != tc.ok || ok && row.Waits != tc.waits {
			t.Errorf("Lookup(%s, %s) = %+v, %v", tc.kind, tc.op, row, ok)
		}
	}
}

func TestMayWait(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		op   string
		flag bool
		want bool
	}{
		{KindLock, string(LockAcquire), true, true},   // Lock
		{KindLock, string(LockAcquire), false, false}, // TryLock
		{KindEvent, string(EventWait), false, true},
		{KindEvent, string(EventSet), true, false},
		{KindDict, "nope", true, false},
	} {
		if got := MayWait(tc.kind, tc.op, tc.flag); got != tc.want {
			t.Errorf("MayWait(%s, %s, %v) = %v", tc.kind, tc.op, tc.flag, got)
		}
	}
}

// TestTableRows: every row names a kind of object (or the manager) and
// an operation.
func TestTableRows(t *testing.T) {
	kinds := map[Kind]bool{KindDict: true, KindList: true, KindNamespace: true, KindValue: true,
		KindQueue: true, KindLock: true, KindRLock: true, KindSemaphore: true, KindEvent: true,
		KindCondition: true, KindBarrier: true, KindTypePrefix: true, KindManager: true}
	for _, row := range Table {
		if !kinds[row.Kind] || row.Op == "" {
			t.Errorf("a row of no kind: %+v", row)
		}
		if row.Grows && (row.Kind != KindList || !row.Writes) {
			t.Errorf("a row that grows and does not write a List: %+v", row)
		}
	}
}
