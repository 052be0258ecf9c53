// Command file-progress processes every file under a directory on worker
// processes, with one progress bar per worker drawn by the parent: the
// notes' "multiprocess file processing" demo, which splits the file list
// into one range per process and runs tqdm in each.
//
// mp does the splitting (a worker takes the next files as soon as it is
// free, so a range of big files does not leave the other workers idle),
// and the parent draws every bar: each result says which worker made it.
//
//	go run ./examples/file-progress [DIR]
package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"slices"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/progress"
)

type counted struct {
	Path   string
	Lines  int
	Worker string // the worker process that counted it
}

var countLines = mp.Register("file-progress.count", func(_ context.Context, path string) (counted, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return counted{}, err
	}
	return counted{path, bytes.Count(b, []byte{'\n'}), mp.CurrentProcess().Name()}, nil
})

func main() {
	mp.Main()
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	const workers = 2
	pool, err := mp.NewPool(mp.Processes(workers))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	bars := progress.NewGroup()
	all := bars.New(int64(len(paths)), progress.Description("all files"), progress.Unit("file"))
	perWorker := map[string]*progress.Bar{}
	total, failed := 0, 0
	ctx := context.Background()
	for c, err := range mp.ImapUnordered(ctx, pool, countLines, slices.Values(paths), mp.Chunksize(8)) {
		all.Add(1)
		if err != nil {
			failed++ // an unreadable file: reported below, the others go on
			continue
		}
		b := perWorker[c.Worker]
		if b == nil {
			b = bars.New(0, progress.Description(c.Worker), progress.Unit("file"))
			perWorker[c.Worker] = b
		}
		b.Add(1)
		total += c.Lines
	}
	bars.Close()
	fmt.Printf("%d files, %d lines, %d unreadable\n", len(paths), total, failed)
}
