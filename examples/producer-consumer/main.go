// Command producer-consumer is the notes' Queue example: a producer
// process puts ten numbers and a sentinel (Python's None, a nil pointer
// here), a consumer process gets and prints them until the sentinel.
//
//	go run ./examples/producer-consumer
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/mp-go/mp"
)

var (
	producer = mp.Register("producer-consumer.producer", func(ctx context.Context, q *mp.Queue[*int]) (struct{}, error) {
		for i := range 10 {
			if err := q.Put(ctx, &i); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, q.Put(ctx, nil) // the sentinel
	})
	consumer = mp.Register("producer-consumer.consumer", func(ctx context.Context, q *mp.Queue[*int]) (struct{}, error) {
		for {
			item, err := q.Get(ctx)
			if err != nil {
				return struct{}{}, err
			}
			if item == nil {
				return struct{}{}, nil
			}
			fmt.Println(*item)
		}
	})
)

func main() {
	mp.Main()
	ctx := context.Background()
	q, err := mp.NewQueue[*int](0)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Unlink()
	p1, err := mp.NewProcess(producer, q)
	if err != nil {
		log.Fatal(err)
	}
	p2, err := mp.NewProcess(consumer, q)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range []*mp.Process{p1, p2} {
		if err := p.Start(ctx); err != nil {
			log.Fatal(err)
		}
	}
	for _, p := range []*mp.Process{p1, p2} {
		if err := p.Join(ctx); err != nil {
			log.Fatal(err)
		}
	}
}
