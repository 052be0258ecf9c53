// Command groupby-regression fits a linear regression per group of a CSV
// file in parallel: the pandas pattern
//
//	for key, group in df.groupby("store"): executor.submit(fit, group)
//	pd.concat(results)
//
// from the Python notes, in Go. It reads the bundled sales.csv (or -csv
// FILE), groups the rows by a column (not necessarily adjacent), fits
// revenue = intercept + coef·ad_spend for each group on a pool, with a
// progress bar, and prints one line per group in first-seen order.
//
//	go run ./examples/groupby-regression
package main

import (
	"context"
	_ "embed"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/mp-go/mp"
)

//go:embed sales.csv
var bundled string

// Row is one observation.
type Row struct {
	Key  string
	X, Y float64
}

// Fit is one group's regression.
type Fit struct {
	Key             string
	N               int
	Intercept, Coef float64
	R2              float64
}

// fit is registered, so it would run unchanged on a process pool.
var fit = mp.Register("groupby-regression.fit", func(_ context.Context, g mp.Group[string, Row]) (Fit, error) {
	n := float64(len(g.Items))
	if n < 2 {
		return Fit{}, fmt.Errorf("group %q: %d rows, need at least 2", g.Key, len(g.Items))
	}
	var sx, sy, sxx, sxy, syy float64
	for _, r := range g.Items {
		sx += r.X
		sy += r.Y
		sxx += r.X * r.X
		sxy += r.X * r.Y
		syy += r.Y * r.Y
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return Fit{}, fmt.Errorf("group %q: all x equal, slope undefined", g.Key)
	}
	coef := (n*sxy - sx*sy) / den
	icpt := (sy - coef*sx) / n
	r := (n*sxy - sx*sy) / math.Sqrt(den*(n*syy-sy*sy))
	return Fit{Key: g.Key, N: len(g.Items), Intercept: icpt, Coef: coef, R2: r * r}, nil
})

func main() {
	path := flag.String("csv", "", "CSV file with a header row (default: the bundled sales.csv)")
	by := flag.String("by", "store", "column to group by")
	xcol := flag.String("x", "ad_spend", "column of x")
	ycol := flag.String("y", "revenue", "column of y")
	workers := flag.Int("j", mp.CPUCount(), "workers")
	flag.Parse()
	if err := run(os.Stdout, *path, *by, *xcol, *ycol, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "groupby-regression:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, path, by, xcol, ycol string, workers int) error {
	var in io.Reader = strings.NewReader(bundled)
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	rows, err := readRows(in, by, xcol, ycol)
	if err != nil {
		return err
	}
	groups := mp.GroupBy(rows, func(r Row) string { return r.Key })

	pool, err := mp.NewPool(mp.Threads(workers))
	if err != nil {
		return err
	}
	defer pool.Close()
	fits, err := mp.Map(context.Background(), pool, fit, groups, mp.Chunksize(1), mp.Progress("fitting"))
	if err != nil {
		return err
	}

	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "%s\trows\tintercept\tcoef\tR²\t\n", by)
	for _, f := range fits {
		fmt.Fprintf(w, "%s\t%d\t%.3f\t%.4f\t%.4f\t\n", f.Key, f.N, f.Intercept, f.Coef, f.R2)
	}
	return w.Flush()
}

func readRows(in io.Reader, by, xcol, ycol string) ([]Row, error) {
	r := csv.NewReader(in)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	col := func(name string) (int, error) {
		if i := slices.Index(header, name); i >= 0 {
			return i, nil
		}
		return 0, fmt.Errorf("no column %q in the header %v", name, header)
	}
	ki, err1 := col(by)
	xi, err2 := col(xcol)
	yi, err3 := col(ycol)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	var rows []Row
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		x, err := strconv.ParseFloat(rec[xi], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d, column %s: %w", line, xcol, err)
		}
		y, err := strconv.ParseFloat(rec[yi], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d, column %s: %w", line, ycol, err)
		}
		rows = append(rows, Row{Key: rec[ki], X: x, Y: y})
	}
}
