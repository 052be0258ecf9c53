// Command pipe walks through the notes' Pipe examples: a duplex pipe
// between two processes that send and receive in turn, and Poll, which
// says whether a message is waiting (and can wait for one).
//
//	go run ./examples/pipe
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/mp-go/mp"
)

var child = mp.Register("pipe.child", func(ctx context.Context, c *mp.Conn[string]) (struct{}, error) {
	for i := 1; i <= 2; i++ {
		if err := c.Send(ctx, fmt.Sprintf("I1_send%d", i)); err != nil {
			return struct{}{}, err
		}
		fmt.Printf("I1 send%d\n", i)
		time.Sleep(100 * time.Millisecond)
	}
	for range 2 {
		m, err := c.Recv(ctx)
		if err != nil {
			return struct{}{}, err
		}
		fmt.Printf("I1 recv %s\n", m)
	}
	return struct{}{}, nil
})

func main() {
	mp.Main()
	ctx := context.Background()

	// Poll: conn1 sends, so conn2 has a message waiting, conn1 has none.
	conn1, conn2, err := mp.Pipe[string](true)
	if err != nil {
		log.Fatal(err)
	}
	defer conn1.Unlink()
	conn1.Send(ctx, "A")
	fmt.Println(conn1.Poll(0), conn2.Poll(0))
	m, _ := conn2.Recv(ctx)
	fmt.Println(m, conn2.Poll(200*time.Millisecond)) // waits 200ms, then false

	// Two processes on the two ends.
	a, b, err := mp.Pipe[string](true)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Unlink()
	p, err := mp.NewProcess(child, a)
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		log.Fatal(err)
	}
	for range 2 {
		m, err := b.Recv(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("I2 recv %s\n", m)
		if err := b.Send(ctx, "I2_send"); err != nil {
			log.Fatal(err)
		}
	}
	if err := p.Join(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("Done.")
}
