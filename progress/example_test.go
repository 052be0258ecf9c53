package progress_test

import (
	"fmt"
	"os"
	"slices"

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
