package progress_test

import (
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/mp-go/mp/progress"
)

func ExampleWrap() {
	// tqdm(iterable, total=3), drawn as plain lines on stdout here so that
	// the example can check them; the default is standard error.
	sum := 0
	for v := range progress.Wrap(slices.Values([]int{1, 2, 3}), 3,
		progress.Writer(os.Stdout), progress.WithMode(progress.Off)) {
		sum += v
	}
	fmt.Println(sum)
	// Output: 6
}

func ExampleBar() {
	bar := progress.New(4, progress.WithMode(progress.Off), progress.Description("fit"))
	for range 4 {
		bar.Add(1)
	}
	bar.SetPostfix("loss=0.12")
	fmt.Println(bar.Count(), bar.Total())
	bar.Close()
	// Output: 4 4
}

// One bar per worker, drawn together (tqdm's position=i).
func ExampleGroup() {
	bars := progress.NewGroup()
	defer bars.Close()
	var wg sync.WaitGroup
	for w := range 3 {
		bar := bars.New(100, progress.Description(fmt.Sprintf("worker %d", w+1)))
		wg.Go(func() {
			for range 100 {
				bar.Add(1) // one atomic add: call it per item
			}
		})
	}
	wg.Wait()
}
