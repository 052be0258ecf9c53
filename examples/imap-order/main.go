// Command imap-order shows Imap keeping input order and ImapUnordered
// yielding in completion order, with tasks of unequal length: the notes'
// func(msg) { sleep(4 - msg) } demo on Pool(3).
//
//	go run ./examples/imap-order
package main

import (
	"context"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/mp-go/mp"
)

var nap = mp.Register("imap-order.nap", func(_ context.Context, msg int) (int, error) {
	fmt.Println("msg:", msg)
	time.Sleep(time.Duration(4-msg) * 300 * time.Millisecond)
	return msg, nil
})

func main() {
	ctx := context.Background()
	pool, err := mp.NewPool(mp.Threads(3))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	fmt.Println("Imap (input order):")
	for res, err := range mp.Imap(ctx, pool, nap, slices.Values([]int{0, 1, 2}), mp.Chunksize(1)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("res:", res)
	}
	fmt.Println("ImapUnordered (completion order):")
	for res, err := range mp.ImapUnordered(ctx, pool, nap, slices.Values([]int{0, 1, 2}), mp.Chunksize(1)) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("res:", res)
	}
	fmt.Println("done.")
}
