package main

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestServer starts `mp server` with a token, connects with and without
// it, and stops it with SIGINT.
func TestServer(t *testing.T) {
	cmd := mpCmd("server", "-listen", "127.0.0.1:0", "-token", "tok")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	guard := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	defer guard.Stop()
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	br := bufio.NewReader(out)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("no first line: %v", err)
	}
	f := strings.Fields(line)
	if len(f) < 5 || !strings.HasPrefix(f[4], "nats://127.0.0.1:") || strings.HasSuffix(f[4], ":4222") {
		t.Fatalf("first line %q (want a free port)", line)
	}
	url := f[4]
	if nc, err := nats.Connect(url, nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("connected without the token")
	}
	nc, err := nats.Connect(url, nats.Token("tok"), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("with the token: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := nc.RequestWithContext(ctx, "$JS.API.INFO", nil); err != nil {
		t.Fatalf("JetStream: %v", err)
	}
	nc.Close()
	cmd.Process.Signal(os.Interrupt)
	rest, _ := br.ReadString('\n')
	if err := cmd.Wait(); err != nil || !strings.Contains(rest, "stopped") {
		t.Fatalf("after SIGINT: %v, %q", err, rest)
	}
}
