// Command files processes every file under a directory in parallel: the
// notes' "multiprocess file processing" demo (os.walk, split the list per
// process, tqdm in each), where mp does the splitting and one bar counts
// every file.
//
//	go run ./examples/files [DIR]
package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/mp-go/mp"
)

type count struct {
	Path  string
	Lines int
}

var countLines = mp.Register("files.count", func(_ context.Context, path string) (count, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return count{}, err
	}
	return count{path, bytes.Count(b, []byte{'\n'})}, nil
})

func main() {
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
	pool, err := mp.NewPool()
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	// Partial: an unreadable file is reported, the others still counted.
	counts, err := mp.Map(context.Background(), pool, countLines, paths, mp.Partial(), mp.Progress("files"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "some files failed:", err)
	}
	total := 0
	for _, c := range counts {
		total += c.Lines
	}
	fmt.Printf("%d files, %d lines\n", len(paths), total)
}
