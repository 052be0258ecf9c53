package mp_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mp-go/mp"
)

// slowUpper stands for an expensive function worth not running twice.
var slowUpper = mp.Register("example.slowUpper", mp.Plain(strings.ToUpper))

// A program killed in the middle of a Map, run again, takes the results
// it had kept and runs only what is missing: here the second call finds
// "a" and "b" and runs "c" alone.
func ExampleCheckpoint() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example-checkpoint-*")
	defer os.RemoveAll(dir)
	pool, _ := mp.NewPool(mp.Threads(2))
	defer pool.Close()
	keep := mp.Checkpoint(filepath.Join(dir, "upper"))

	mp.Map(ctx, pool, slowUpper, []string{"a", "b"}, keep)                  // the first run
	out, err := mp.Map(ctx, pool, slowUpper, []string{"a", "b", "c"}, keep) // after a restart
	fmt.Println(out, err)
	// Output: [A B C] <nil>
}
