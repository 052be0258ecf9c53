package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPullerTakesWhatIsThereAtOnce checks the pull request the workers
// rely on: up to n tasks, returned as soon as there is one, not when n
// have come or the wait is over (what jetstream's Fetch does).
func TestPullerTakesWhatIsThereAtOnce(t *testing.T) {
	srv, err := StartServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t"}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPuller(nc, "T", "w")
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	publish := func(n int) {
		for range n {
			if _, err := js.Publish(ctx, "t", []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// waiting blocks until the consumer has n pull requests waiting.
	waiting := func(n int) {
		for deadline := time.Now().Add(30 * time.Second); ; {
			info, err := cons.Info(ctx)
			if err == nil && info.NumWaiting == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the consumer never had %d pull requests waiting", n)
			}
			time.Sleep(time.Millisecond) // polling the server's state, bounded above
		}
	}
	pull := func(n int, wait time.Duration) (int, time.Duration) {
		t0 := time.Now()
		got, err := p.pull(ctx, n, wait, func(m *nats.Msg) {
			if err := m.Ack(); err != nil {
				t.Errorf("ack: %v", err)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, time.Since(t0)
	}

	t.Run("what is there, at once", func(t *testing.T) {
		publish(3)
		got, took := pull(64, 10*time.Second)
		if got != 3 || took > 5*time.Second {
			t.Fatalf("pull(64) of 3 tasks there: %d tasks in %v, want 3 at once (not after the 10 s wait)", got, took)
		}
	})
	t.Run("the first that comes", func(t *testing.T) {
		type result struct {
			got  int
			took time.Duration
		}
		done := make(chan result, 1)
		go func() {
			got, took := pull(64, 10*time.Second)
			done <- result{got, took}
		}()
		waiting(1)
		publish(1)
		select {
		case r := <-done:
			if r.got != 1 || r.took > 9*time.Second {
				t.Fatalf("pull(64) waiting, then one task: %d tasks in %v, want it as it came", r.got, r.took)
			}
		case <-time.After(time.Minute):
			t.Fatal("pull did not return within a minute")
		}
	})
	t.Run("nothing within the wait", func(t *testing.T) {
		got, took := pull(64, 100*time.Millisecond)
		if got != 0 || took < 100*time.Millisecond {
			t.Fatalf("pull(64) with nothing there: %d tasks after %v, want 0 after the wait", got, took)
		}
	})
}
