// Package metrics exports the Stats of mp pools to monitoring systems, in
// the Prometheus text and OpenMetrics formats, with the standard client
// (github.com/prometheus/client_golang).
//
// It is opt-in and off the workers' path: nothing is counted for it. A
// scrape reads each pool's Stats (atomic loads and one short lock) and
// turns them into metrics; a program that does not import this package,
// or never scrapes, pays nothing.
//
//	c := metrics.NewCollector()
//	c.Add("resize", pool)
//	http.Handle("/metrics", metrics.Handler(c))
//
// Or register the Collector with a prometheus.Registry of your own.
//
// The metrics, each labelled with the pool's name (pool):
//
//	mp_pool_workers                          gauge    the pool's size
//	mp_workers{state}                        gauge    workers busy, idle, starting
//	mp_items{state}                          gauge    items queued, running
//	mp_items_total{outcome}                  counter  items done, failed, cancelled
//	mp_items_retried_total                   counter  runs of an item again after a failure
//	mp_items_timed_out_total                 counter  items past their Timeout
//	mp_tasks_sent_total                      counter  tasks sent to worker processes or the cluster
//	mp_ticks_total                           counter  progress ticks from inside tasks (mp.Tick)
//	mp_worker_restarts_total{reason}         counter  workers replaced: crash, recycle, memory, timeout, cancel
//	mp_task_seconds_total                    counter  time workers spent running jobs
//	mp_wait_seconds_total                    counter  time workers spent waiting for work
//	mp_encode_seconds_total                  counter  time spent encoding arguments
//	mp_decode_seconds_total                  counter  time spent decoding results
//	mp_uptime_seconds                        gauge    time since the pool started
//	mp_worker_items_total{worker}            counter  items run by each current worker
//	mp_worker_task_seconds_total{worker}     counter  time each current worker spent running jobs
package metrics

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/mp-go/mp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source is what the Collector reads: *mp.Pool is one.
type Source interface {
	Stats() mp.Stats
}

var _ Source = (*mp.Pool)(nil)

// Collector is a prometheus.Collector of the Stats of named pools. Make
// one with NewCollector; it is safe for concurrent use.
type Collector struct {
	mu    sync.Mutex
	pools map[string]Source
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector of no pools; Add them.
func NewCollector() *Collector { return &Collector{pools: map[string]Source{}} }

// Add exports the Stats of p under name, the value of the label pool. A
// name already used, or empty, is an error: remove the other first.
func (c *Collector) Add(name string, p Source) error {
	if name == "" || p == nil {
		return fmt.Errorf("metrics: Add(%q, %v): need a name and a pool", name, p)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pools[name]; ok {
		return fmt.Errorf("metrics: a pool named %q is already exported: remove it first, or choose another name", name)
	}
	c.pools[name] = p
	return nil
}

// Remove stops exporting the pool named name (a closed pool's Stats stay
// readable: remove it when it should disappear from the scrape).
func (c *Collector) Remove(name string) {
	c.mu.Lock()
	delete(c.pools, name)
	c.mu.Unlock()
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("mp_"+name, help, append([]string{"pool"}, labels...), nil)
}

var (
	dPoolWorkers   = desc("pool_workers", "Workers in the pool: goroutines, worker processes, or tasks in flight on a cluster.")
	dWorkers       = desc("workers", "Workers by state.", "state")
	dItems         = desc("items", "Items queued or running.", "state")
	dItemsTotal    = desc("items_total", "Items finished, by outcome.", "outcome")
	dRetried       = desc("items_retried_total", "Runs of an item again after a failure (Retries).")
	dTimedOut      = desc("items_timed_out_total", "Items that failed because they ran past their Timeout.")
	dSent          = desc("tasks_sent_total", "Tasks sent to worker processes or the cluster.")
	dTicks         = desc("ticks_total", "Progress ticks reported from inside tasks (mp.Tick).")
	dMemoryWaits   = desc("memory_waits_total", "Jobs held back because memory was short (mp.MemFree).")
	dRestarts      = desc("worker_restarts_total", "Workers replaced, by reason.", "reason")
	dTaskSeconds   = desc("task_seconds_total", "Time workers spent running jobs.")
	dWaitSeconds   = desc("wait_seconds_total", "Time workers spent waiting for work.")
	dEncodeSeconds = desc("encode_seconds_total", "Time spent encoding arguments for worker processes or the cluster.")
	dDecodeSeconds = desc("decode_seconds_total", "Time spent decoding results from worker processes or the cluster.")
	dUptime        = desc("uptime_seconds", "Time since the pool started.")
	dWorkerItems   = desc("worker_items_total", "Items run by each current worker.", "worker")
	dWorkerSeconds = desc("worker_task_seconds_total", "Time each current worker spent running jobs.", "worker")
	allDescs       = []*prometheus.Desc{dPoolWorkers, dWorkers, dItems, dItemsTotal, dRetried, dTimedOut, dSent, dTicks, dMemoryWaits, dRestarts,
		dTaskSeconds, dWaitSeconds, dEncodeSeconds, dDecodeSeconds, dUptime, dWorkerItems, dWorkerSeconds}
)

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect reads the Stats of every pool and sends its metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	names := make([]string, 0, len(c.pools))
	for name := range c.pools {
		names = append(names, name)
	}
	slices.Sort(names)
	srcs := make([]Source, len(names))
	for i, name := range names {
		srcs[i] = c.pools[name]
	}
	c.mu.Unlock()
	for i, name := range names {
		collect(ch, name, srcs[i].Stats())
	}
}

func collect(ch chan<- prometheus.Metric, pool string, s mp.Stats) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{pool}, labels...)...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, append([]string{pool}, labels...)...)
	}
	gauge(dPoolWorkers, float64(s.Workers))
	gauge(dWorkers, float64(s.Busy), "busy")
	gauge(dWorkers, float64(s.Idle), "idle")
	gauge(dWorkers, float64(s.Starting), "starting")
	gauge(dItems, float64(s.Queued), "queued")
	gauge(dItems, float64(s.Running), "running")
	counter(dItemsTotal, float64(s.Done), "done")
	counter(dItemsTotal, float64(s.Failed), "failed")
	counter(dItemsTotal, float64(s.Cancelled), "cancelled")
	counter(dRetried, float64(s.Retried))
	counter(dTimedOut, float64(s.TimedOut))
	counter(dSent, float64(s.Sent))
	counter(dTicks, float64(s.Ticks))
	counter(dMemoryWaits, float64(s.MemoryWaits))
	r := s.Restarts
	for _, x := range []struct {
		reason string
		n      int64
	}{{"crash", r.Crash}, {"recycle", r.Recycle}, {"memory", r.Memory}, {"timeout", r.Timeout}, {"cancel", r.Cancel}, {"memfree", r.MemFree}} {
		counter(dRestarts, float64(x.n), x.reason)
	}
	counter(dTaskSeconds, s.TaskTime.Seconds())
	counter(dWaitSeconds, s.WaitTime.Seconds())
	counter(dEncodeSeconds, s.EncodeTime.Seconds())
	counter(dDecodeSeconds, s.DecodeTime.Seconds())
	gauge(dUptime, s.Uptime.Seconds())
	for _, w := range s.PerWorker {
		id := strconv.Itoa(w.ID)
		counter(dWorkerItems, float64(w.Tasks), id)
		counter(dWorkerSeconds, w.TaskTime.Seconds(), id)
	}
}

// Handler serves the metrics of c's pools, with the Go runtime's and the
// process's own, in the Prometheus text format or OpenMetrics, as the
// scraper asks.
func Handler(c *Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}
