package dash

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestListenAddr(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"", "127.0.0.1:0", ""},
		{"0", "127.0.0.1:0", ""},
		{"8080", "127.0.0.1:8080", ""},
		{":8080", "127.0.0.1:8080", ""},
		{"localhost:8080", "localhost:8080", ""},
		{"0.0.0.0:8080", "0.0.0.0:8080", ""},
		{"[::]:9000", "[::]:9000", ""},
		{"host", "", "want [HOST]:PORT"},
		{":http-alt", "", "is not a number"},
		{":70000", "", "is not a number"},
	} {
		got, err := ListenAddr(c.in)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ListenAddr(%q) = %q, %v; want an error saying %q", c.in, got, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("ListenAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// counter is a Source whose done count the test moves.
type counter struct {
	name  string
	done  atomic.Int64
	total int64
}

func (c *counter) View() View {
	return View{Name: c.name, Backend: "threads", Unit: "items", Total: c.total, Final: true, Done: c.done.Load(),
		Workers: []Worker{{ID: 1, State: "busy"}}}
}

type snapshot struct {
	Seq  int64     `json:"seq"`
	Runs []runJSON `json:"runs"`
}

func getSnapshot(t *testing.T, url string) snapshot {
	t.Helper()
	resp, err := http.Get(url + "snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s snapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// freePort is a loopback address no one listens on now.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Sources at one address share its page; one that leaves stays on it,
// ended, with its last numbers; the server stops with the last one.
func TestSourcesShareTheServerOfAnAddress(t *testing.T) {
	addr := freePort(t)
	a, b := &counter{name: "a", total: 10}, &counter{name: "b", total: 20}
	ha, err := Join(addr, a)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := Join(addr, b)
	if err != nil {
		t.Fatal(err)
	}
	if ha.URL() != hb.URL() || ha.URL() != "http://"+addr+"/" {
		t.Fatalf("URLs %q and %q, want both http://%s/", ha.URL(), hb.URL(), addr)
	}
	a.done.Store(10)
	ha.Leave()
	ha.Leave() // twice is fine
	s := getSnapshot(t, hb.URL())
	if len(s.Runs) != 2 || !s.Runs[0].Ended || s.Runs[0].Done != 10 || s.Runs[1].Ended || s.Runs[1].Name != "b" {
		t.Fatalf("after a left: %+v", s.Runs)
	}
	page, err := http.Get(hb.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "EventSource") {
		t.Errorf("GET / did not serve the page: %.200s", body)
	}
	hb.Leave()
	if _, err := http.Get(hb.URL() + "snapshot"); err == nil {
		t.Error("the server still answers after its last source left")
	}
	// a new source at the address gets a new server
	hc, err := Join(addr, &counter{name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if s := getSnapshot(t, hc.URL()); len(s.Runs) != 1 || s.Runs[0].Name != "c" {
		t.Errorf("a new server at the address shows %+v", s.Runs)
	}
	hc.Leave()
}

// The event stream sends a snapshot at once, then one as the numbers
// move, with the rate and an ETA; it ends when the server stops.
func TestEventStream(t *testing.T) {
	c := &counter{name: "moving", total: 1000}
	h, err := Join("127.0.0.1:0", c)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Leave()
	resp, err := http.Get(h.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	events := make(chan snapshot)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var s snapshot
			if json.Unmarshal([]byte(data), &s) != nil {
				return
			}
			events <- s
		}
	}()
	next := func() snapshot {
		t.Helper()
		select {
		case s, ok := <-events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			return s
		case <-time.After(30 * time.Second):
			t.Fatal("no event in 30 s")
		}
		panic("unreachable")
	}
	first := next()
	if len(first.Runs) != 1 || first.Runs[0].Name != "moving" || first.Runs[0].ETA != -1 && first.Runs[0].Rate == 0 {
		t.Fatalf("first event: %+v", first)
	}
	// the numbers move: a later event shows them, a rate and an ETA
	deadline := time.Now().Add(time.Minute)
	for {
		c.done.Add(50)
		s := next()
		if s.Seq <= first.Seq {
			t.Fatalf("seq went from %d to %d", first.Seq, s.Seq)
		}
		r := s.Runs[0]
		if r.Done > 0 && r.Rate > 0 && r.ETA > 0 && len(r.History) > 0 {
			if want := float64(r.Total-r.Done) / r.Rate; r.ETA < want*0.99 || r.ETA > want*1.01 {
				t.Fatalf("ETA %.2f s, want (total-done)/rate = %.2f", r.ETA, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rate or ETA after a minute: %+v", r)
		}
	}
	c.done.Store(c.total)
	for r := next().Runs[0]; r.ETA != 0; r = next().Runs[0] {
		if time.Now().After(deadline) {
			t.Fatalf("ETA %v once all is done, want 0", r.ETA)
		}
	}
	h.Leave()
	for range events { // the stream ends when the server stops
	}
}

// A worker with a PID gets its process's memory; a job slot's (Group)
// counts its whole process group.
func TestFillMemory(t *testing.T) {
	v := View{Workers: []Worker{{ID: 1, PID: selfPID()}, {ID: 2}}}
	fillMemory(&v)
	if v.RSS <= 0 || v.Workers[0].RSS <= 0 || v.Workers[1].RSS != 0 {
		t.Skipf("no memory figures here (no /proc?): %+v", v)
	}
	g := View{Workers: []Worker{{ID: 1, PID: selfPGID(), Group: true}}}
	fillMemory(&g)
	if g.Workers[0].RSS < v.Workers[0].RSS {
		t.Errorf("the group's memory %d is less than this process's %d", g.Workers[0].RSS, v.Workers[0].RSS)
	}
}
