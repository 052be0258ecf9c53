package dash

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

//go:embed page.html
var page []byte

// Every is how often the server asks its sources for a View.
const Every = 500 * time.Millisecond

// history is the number of samples of a run's rate the page plots (a
// minute).
const history = 120

// Server serves the dashboard of the sources that joined it at one
// address.
type Server struct {
	addr string // as asked, normalised: the key in servers
	url  string
	ln   net.Listener
	srv  *http.Server

	mu    sync.Mutex
	runs  []*run // in the order they joined
	live  int    // runs not ended
	snap  []byte // the last snapshot, JSON
	seq   int64  // snapshots taken
	subs  map[chan struct{}]struct{}
	stop  chan struct{} // closed when the server stops
	gone  chan struct{} // closed when the sampler has returned
	conns sync.WaitGroup
}

// run is one source on the server.
type run struct {
	id      int
	src     Source
	ended   bool
	view    View
	samples []sample // the last history+1 samples
}

type sample struct {
	at   time.Time
	done int64 // done + failed
}

// servers are the dashboards serving, by address.
var servers struct {
	sync.Mutex
	m map[string]*Server
}

// Handle is a source's place on a dashboard.
type Handle struct {
	s    *Server
	r    *run
	once sync.Once
}

// URL is the address of the dashboard's page.
func (h *Handle) URL() string { return h.s.url }

// Leave takes the source off the server: the page keeps its last View,
// marked ended, while other sources keep the server going; the server
// stops when the last one leaves. Safe to call twice.
func (h *Handle) Leave() { h.once.Do(func() { h.s.leave(h.r) }) }

// ListenAddr is where a dashboard asked for at addr listens: on loopback
// unless the address names a host ("0.0.0.0:8080" for every interface).
// "" and "0" are a free port on loopback; a bare number is a port.
func ListenAddr(addr string) (string, error) {
	if addr == "" {
		addr = "0"
	}
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("dashboard address %q: want [HOST]:PORT, such as :8080 (loopback) or 0.0.0.0:8080 (every interface)", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("dashboard address %q: the port %q is not a number from 0 to 65535", addr, port)
	}
	if host == "" {
		host = "127.0.0.1" // loopback unless asked otherwise
	}
	return net.JoinHostPort(host, port), nil
}

// Join puts src on the dashboard at addr (see ListenAddr), starting a
// server there unless one of this process already serves it. Sources at
// port 0 each get a server of their own.
func Join(addr string, src Source) (*Handle, error) {
	la, err := ListenAddr(addr)
	if err != nil {
		return nil, err
	}
	servers.Lock()
	defer servers.Unlock()
	if servers.m == nil {
		servers.m = map[string]*Server{}
	}
	s := servers.m[la]
	if s == nil || s.closing() {
		if s, err = start(la); err != nil {
			return nil, err
		}
		if _, port, _ := net.SplitHostPort(la); port != "0" {
			servers.m[la] = s
		}
	}
	return &Handle{s: s, r: s.join(src)}, nil
}

// start listens on la and starts serving.
func start(la string) (*Server, error) {
	ln, err := net.Listen("tcp", la)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	s := &Server{addr: la, ln: ln, url: "http://" + ln.Addr().String() + "/", subs: map[chan struct{}]struct{}{}, stop: make(chan struct{}), gone: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /events", s.serveEvents)
	mux.HandleFunc("GET /snapshot", s.serveSnapshot)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	go s.sample()
	return s, nil
}

// closing says whether s is stopping (its last source left).
func (s *Server) closing() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

func (s *Server) join(src Source) *run {
	s.mu.Lock()
	r := &run{id: len(s.runs) + 1, src: src}
	s.runs = append(s.runs, r)
	s.live++
	s.mu.Unlock()
	s.take() // on the page at once
	return r
}

func (s *Server) leave(r *run) {
	v := r.src.View() // its last state stays on the page
	s.mu.Lock()
	r.view, r.ended = v, true
	s.live--
	last := s.live == 0
	s.mu.Unlock()
	if !last {
		s.take()
		return
	}
	servers.Lock()
	if servers.m[s.addr] == s {
		delete(servers.m, s.addr)
	}
	servers.Unlock()
	s.mu.Lock()
	close(s.stop) // under mu: no event stream starts after it
	s.mu.Unlock()
	<-s.gone
	s.srv.Close()
	s.conns.Wait() // the event streams have returned
}

// sample asks the sources for a View every Every, until the server stops.
func (s *Server) sample() {
	defer close(s.gone)
	t := time.NewTicker(Every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.take()
		}
	}
}

// runJSON is a run as the page gets it.
type runJSON struct {
	ID int `json:"id"`
	View
	Ended   bool      `json:"ended"`
	Rate    float64   `json:"rate"` // per second, over the last 5 s
	ETA     float64   `json:"eta"`  // seconds; -1: unknown
	History []float64 `json:"history"`
}

// take asks the live sources for their View and sends the snapshot to
// the pages.
func (s *Server) take() {
	s.mu.Lock()
	runs := make([]*run, 0, len(s.runs))
	for _, r := range s.runs {
		if !r.ended {
			runs = append(runs, r)
		}
	}
	s.mu.Unlock()
	now := time.Now()
	views := make([]View, len(runs))
	for i, r := range runs {
		views[i] = r.src.View()
		fillMemory(&views[i])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range runs {
		if r.ended { // it left meanwhile: its last View is kept
			continue
		}
		r.view = views[i]
		if n := len(r.samples); n > 0 && !now.After(r.samples[n-1].at) {
			continue // a sample taken after this one is in (GET /snapshot and the ticker)
		}
		r.samples = append(r.samples, sample{now, r.view.Done + r.view.Failed})
		if len(r.samples) > history+1 {
			r.samples = r.samples[len(r.samples)-history-1:]
		}
	}
	out := struct {
		Seq  int64     `json:"seq"`
		Time time.Time `json:"time"`
		PID  int       `json:"pid"`
		Runs []runJSON `json:"runs"`
	}{PID: os.Getpid(), Time: now, Runs: make([]runJSON, len(s.runs))}
	s.seq++
	out.Seq = s.seq
	for i, r := range s.runs {
		out.Runs[i] = r.json()
	}
	b, err := json.Marshal(out)
	if err != nil {
		return
	}
	s.snap = b
	for c := range s.subs {
		select {
		case c <- struct{}{}:
		default: // it has not sent the last one yet: it will send the newest
		}
	}
}

// json is r for the page: its rate, history and ETA from its samples.
func (r *run) json() runJSON {
	j := runJSON{ID: r.id, View: r.view, Ended: r.ended, ETA: -1, History: []float64{}}
	if j.Workers == nil {
		j.Workers = []Worker{}
	}
	if j.Errors == nil {
		j.Errors = []Error{}
	}
	ss := r.samples
	for i := 1; i < len(ss); i++ {
		d := ss[i].at.Sub(ss[i-1].at).Seconds()
		if d > 0 {
			j.History = append(j.History, float64(ss[i].done-ss[i-1].done)/d)
		}
	}
	if n := len(ss); n > 1 && !r.ended {
		from := max(n-1-int(5*time.Second/Every), 0)
		if d := ss[n-1].at.Sub(ss[from].at).Seconds(); d > 0 {
			j.Rate = float64(ss[n-1].done-ss[from].done) / d
		}
		left := j.Total - j.Done - j.Failed - j.Cancelled
		switch {
		case left <= 0 && j.Final:
			j.ETA = 0
		case j.Final && j.Rate > 0:
			j.ETA = float64(left) / j.Rate
		}
	}
	return j
}

// fillMemory reads the memory of the workers whose source left it to
// the server.
func fillMemory(v *View) {
	var groups map[int]int64
	for i := range v.Workers {
		w := &v.Workers[i]
		switch {
		case w.PID <= 0 || w.RSS != 0:
		case w.Group:
			if groups == nil {
				groups = map[int]int64{}
			}
			groups[w.PID] = 0
		default:
			w.RSS = rssOf(w.PID)
		}
	}
	groupRSS(groups)
	for i := range v.Workers {
		if w := &v.Workers[i]; w.Group && w.PID > 0 && w.RSS == 0 {
			w.RSS = groups[w.PID]
		}
	}
	if v.RSS == 0 {
		v.RSS = rssOf(os.Getpid())
	}
}

func (s *Server) servePage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page)
}

// serveSnapshot gives the numbers now, as JSON: a fresh sample of the
// sources (the pages get it too).
func (s *Server) serveSnapshot(w http.ResponseWriter, _ *http.Request) {
	s.take()
	s.mu.Lock()
	b := s.snap
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// serveEvents streams the snapshots to a page (server-sent events): the
// last one at once, then each new one, until the page goes or the
// server stops.
func (s *Server) serveEvents(w http.ResponseWriter, req *http.Request) {
	rc := http.NewResponseController(w)
	c := make(chan struct{}, 1)
	c <- struct{}{}
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		http.Error(w, "the dashboard has stopped", http.StatusServiceUnavailable)
		return
	default:
	}
	s.conns.Add(1)
	defer s.conns.Done()
	s.subs[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, c)
		s.mu.Unlock()
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	for {
		select {
		case <-req.Context().Done():
			return
		case <-s.stop:
			return
		case <-c:
		}
		s.mu.Lock()
		b := s.snap
		s.mu.Unlock()
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return
		}
	}
}
