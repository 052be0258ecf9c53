//go:build linux

package mp_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/mp-go/mp"
)

// A queue bigger than the shared memory left takes items while there is
// memory behind them; the Put that finds none fails with an error naming
// the fix, instead of the program dying of SIGBUS (issue 15: Docker's
// /dev/shm is 64 MB, a queue's ring 64 MiB); the items it took are intact.
func TestQueueOnAFullTmpfs(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("a small tmpfs is needed and this process cannot mount one (run the tests as root): %v: %s", err, out)
	}
	// lazily: the queue stays mapped until the program ends
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	t.Setenv("MP_SHM_DIR", dir)

	ctx := context.Background()
	q, err := mp.NewQueue[[]byte](0, mp.QueueCapacity(16<<20))
	if err != nil {
		t.Fatalf("a 16 MiB queue on a 4 MiB tmpfs (its ring is backed as it fills): %v", err)
	}
	defer q.Close()
	item := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 512<<10) }
	put := 0
	for ; ; put++ {
		err := q.PutNowait(item(put))
		if err == nil {
			continue
		}
		if !errors.Is(err, mp.ErrNoSharedMemory) || !strings.Contains(err.Error(), "--shm-size") {
			t.Fatalf("Put %d: %v; want an error wrapping ErrNoSharedMemory that names the fix", put, err)
		}
		break
	}
	if put < 4 || put > 8 {
		t.Fatalf("%d items of 512 KiB went into a 4 MiB tmpfs", put)
	}
	for i := range put {
		got, err := q.Get(ctx)
		if err != nil || !bytes.Equal(got, item(i)) {
			t.Fatalf("item %d: %v (%d bytes)", i, err, len(got))
		}
	}
	if _, err := mp.CreateSharedMemory("", 8<<20); !errors.Is(err, mp.ErrNoSharedMemory) {
		t.Fatalf("an 8 MiB segment on a 4 MiB tmpfs: %v", err)
	}
}
