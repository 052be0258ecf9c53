package cluster

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestTaskData(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		task        []byte
	}{
		{"task", "mp.results.abc", []byte{0xa1, 1, 2}},
		{"object (no data)", "mp.results.run.x", nil},
		{"long subject", "mp.results.run." + strings.Repeat("n", 300), []byte("x")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply, task, ok := parseTaskData(taskData(tc.reply, tc.task))
			if !ok || reply != tc.reply || !bytes.Equal(task, tc.task) {
				t.Fatalf("got %q %x %v", reply, task, ok)
			}
		})
	}
	for _, bad := range [][]byte{nil, {}, {0}, {5, 'a'}, {0x80}} {
		if _, _, ok := parseTaskData(bad); ok {
			t.Errorf("%x read as a task", bad)
		}
	}
}

// The delivery count and the pending count read from the ack subject
// (nats.go's jetstream/message.go parses the same layouts).
func TestNumDeliveredAndPending(t *testing.T) {
	for _, tc := range []struct {
		reply              string
		delivered, pending uint64
	}{
		{"$JS.ACK.MP_TASKS.workers.3.17.12.1700000000000000000.5", 3, 5},
		{"$JS.ACK.dom.ACCHASH.MP_TASKS.workers.2.17.12.1700000000000000000.0.rand", 2, 0},
		{"$JS.ACK.dom.ACCHASH.MP_TASKS.workers.4.17.12.1700000000000000000.7", 4, 7},
		{"_INBOX.abc", 0, 0},
		{"", 0, 0},
		{"$JS.ACK.MP_TASKS.workers.x.17.12.1700000000000000000.y", 0, 0},
		{"$JS.NAK.MP_TASKS.workers.3.17.12.1700000000000000000.5", 0, 0},
	} {
		m := &taskMsg{m: &nats.Msg{Reply: tc.reply}}
		if got := m.NumDelivered(); got != tc.delivered {
			t.Errorf("%q: delivered %d, want %d", tc.reply, got, tc.delivered)
		}
		if got := m.NumPending(); got != tc.pending {
			t.Errorf("%q: pending %d, want %d", tc.reply, got, tc.pending)
		}
	}
}
