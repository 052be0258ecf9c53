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

func TestNumDelivered(t *testing.T) {
	for _, tc := range []struct {
		reply string
		want  uint64
	}{
		{"$JS.ACK.MP_TASKS.workers.3.17.12.1700000000000000000.5", 3},
		{"$JS.ACK.dom.ACCHASH.MP_TASKS.workers.2.17.12.1700000000000000000.5.rand", 2},
		{"$JS.ACK.dom.ACCHASH.MP_TASKS.workers.4.17.12.1700000000000000000.5", 4},
		{"_INBOX.abc", 0},
		{"", 0},
		{"$JS.ACK.MP_TASKS.workers.x.17.12.1700000000000000000.5", 0},
	} {
		m := &taskMsg{m: &nats.Msg{Reply: tc.reply}}
		if got := m.NumDelivered(); got != tc.want {
			t.Errorf("%q: %d, want %d", tc.reply, got, tc.want)
		}
	}
}
