package mp

import (
	"fmt"
	"sync"
	"time"

	"github.com/mp-go/mp/internal/dash"
)

// Dashboard serves a live web page of the pool at addr while the pool is
// open: progress and ETA of its items, items per second over the last
// minute, each worker's state, items and memory (the resident memory of
// a worker process; the program's own for goroutines), and the recent
// failures with their items. The page updates itself twice a second
// (server-sent events); GET /snapshot gives the same numbers as JSON.
//
// The address is [HOST]:PORT. Without a host the page is served on
// loopback only (":8080" is 127.0.0.1:8080); give a host to serve
// elsewhere ("0.0.0.0:8080": every interface). Port 0 takes a free port.
// Pools of one program given the same address share its page. The page's
// address is logged (slog, Info) and given by Pool.DashboardURL.
//
// Nothing of it runs without this option: the pool's counters are the
// ones Stats reads anyway.
func Dashboard(addr string) PoolOption {
	return poolOption(func(s *settings) error {
		if _, err := dash.ListenAddr(addr); err != nil {
			return fmt.Errorf("%w: Dashboard: %w", ErrInvalidOption, err)
		}
		s.dashboard = &addr
		return nil
	})
}

// DashboardURL is the address of the pool's dashboard page ("" without
// the Dashboard option).
func (p *Pool) DashboardURL() string {
	if p.dash == nil {
		return ""
	}
	return p.dash.URL()
}

// poolNumbers numbers the pools of the program, for their names on the
// dashboard.
var poolNumbers struct {
	sync.Mutex
	n int
}

// startDashboard puts p on the dashboard at addr.
func (p *Pool) startDashboard(addr string) error {
	poolNumbers.Lock()
	poolNumbers.n++
	p.name = fmt.Sprintf("pool %d", poolNumbers.n)
	poolNumbers.Unlock()
	h, err := dash.Join(addr, poolView{p})
	if err != nil {
		return fmt.Errorf("mp: %w", err)
	}
	p.dash = h
	p.log.Info("mp: dashboard", "pool", p.name, "url", h.URL())
	return nil
}

// stopDashboard takes p off its dashboard, once its work has ended.
func (p *Pool) stopDashboard() {
	if p.dash != nil {
		p.dash.Leave()
	}
}

// poolView shows a pool on the dashboard.
type poolView struct{ p *Pool }

var _ dash.Source = poolView{}

// View is the pool's Stats, as the dashboard shows them.
func (v poolView) View() dash.View {
	s := v.p.Stats()
	d := dash.View{
		Name: v.p.name, Backend: s.Backend, Unit: "items",
		Total: s.Queued + s.Running + s.Done + s.Failed + s.Cancelled,
		Final: s.Queued == 0 && s.Running == 0,
		Done:  s.Done, Failed: s.Failed, Running: s.Running, Queued: s.Queued, Cancelled: s.Cancelled,
		Retried: s.Retried, TimedOut: s.TimedOut, Restarts: s.Restarts.Total(), Ticks: s.Ticks,
		Uptime:  s.Uptime.Seconds(),
		Workers: make([]dash.Worker, len(s.PerWorker)),
		Errors:  make([]dash.Error, len(s.RecentErrors)),
	}
	for i, w := range s.PerWorker {
		since := 0.0
		if w.Since > 0 {
			since = max(s.Uptime-w.Since, 0).Seconds()
		}
		d.Workers[i] = dash.Worker{ID: w.ID, State: w.Status.String(), Since: since, Tasks: w.Tasks, PID: w.PID}
	}
	for i, e := range s.RecentErrors {
		d.Errors[i] = dash.Error{At: e.At.Seconds(), Index: e.Index, Item: e.Item, Err: e.Err.Error()}
	}
	return d
}

// recentErrors keeps the last failures of a pool's items, for
// Stats.RecentErrors: written only when an item fails.
type recentErrors struct {
	mu   sync.Mutex
	ring [16]FailedItem
	n    int // failures recorded in all
}

// FailedItem is an item that failed, in Stats.RecentErrors.
type FailedItem struct {
	// At is when it failed, since NewPool.
	At time.Duration
	// Index is the item's position in its call's input (0 for Submit and
	// Apply).
	Index int
	// Item is the item, printed with %v and cut to 200 bytes.
	Item string
	// Err is what it failed with.
	Err error
}

// noteFailure records that item index, arg, failed with err.
func (p *Pool) noteFailure(index int, arg any, err error) {
	item := fmt.Sprintf("%v", arg)
	if len(item) > 200 {
		item = item[:197] + "..."
	}
	f := FailedItem{At: time.Since(p.born), Index: index, Item: item, Err: err}
	r := &p.failures
	r.mu.Lock()
	r.ring[r.n%len(r.ring)] = f
	r.n++
	r.mu.Unlock()
}

// recent returns the recorded failures, oldest first.
func (r *recentErrors) recent() []FailedItem {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return nil
	}
	k := min(r.n, len(r.ring))
	out := make([]FailedItem, 0, k)
	for i := r.n - k; i < r.n; i++ {
		out = append(out, r.ring[i%len(r.ring)])
	}
	return out
}
