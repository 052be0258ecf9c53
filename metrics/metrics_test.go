package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/metrics"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mp.Main()
	goleak.VerifyTestMain(m)
}

var half = mp.Register("metrics-test.half", func(_ context.Context, x int) (int, error) {
	if x%2 == 1 {
		return 0, errors.New("odd")
	}
	return x / 2, nil
})

// scrape gets url and parses the text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value returns the value of the metric of fams named name whose labels
// include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	t.Helper()
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func TestScrape(t *testing.T) {
	threads, err := mp.NewPool(mp.Threads(3))
	if err != nil {
		t.Fatal(err)
	}
	defer threads.Close()
	procs, err := mp.NewPool(mp.Processes(2))
	if err != nil {
		t.Fatal(err)
	}
	defer procs.Close()
	c := metrics.NewCollector()
	if err := c.Add("threads", threads); err != nil {
		t.Fatal(err)
	}
	if err := c.Add("procs", procs); err != nil {
		t.Fatal(err)
	}
	if err := c.Add("procs", threads); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("a name used twice: %v", err)
	}
	srv := httptest.NewServer(metrics.Handler(c))
	defer srv.Close()

	ctx := context.Background()
	items := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for _, p := range []*mp.Pool{threads, procs} {
		if _, err := mp.Map(ctx, p, half, items, mp.Partial(), mp.Chunksize(2)); err == nil {
			t.Fatal("no error")
		}
		p.Join()
	}
	fams := scrape(t, srv.URL)
	for _, tt := range []struct {
		metric string
		labels map[string]string
		want   float64
	}{
		{"mp_items_total", map[string]string{"pool": "threads", "outcome": "done"}, 5},
		{"mp_items_total", map[string]string{"pool": "threads", "outcome": "failed"}, 5},
		{"mp_items_total", map[string]string{"pool": "procs", "outcome": "done"}, 5},
		{"mp_items_total", map[string]string{"pool": "procs", "outcome": "failed"}, 5},
		{"mp_items_total", map[string]string{"pool": "procs", "outcome": "cancelled"}, 0},
		{"mp_items", map[string]string{"pool": "procs", "state": "queued"}, 0},
		{"mp_pool_workers", map[string]string{"pool": "threads"}, 3},
		{"mp_pool_workers", map[string]string{"pool": "procs"}, 2},
		{"mp_worker_restarts_total", map[string]string{"pool": "procs", "reason": "crash"}, 0},
		{"mp_tasks_sent_total", map[string]string{"pool": "threads"}, 0},
	} {
		got, ok := value(t, fams, tt.metric, tt.labels)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (found: %v), want %v", tt.metric, tt.labels, got, ok, tt.want)
		}
	}
	if sent, _ := value(t, fams, "mp_tasks_sent_total", map[string]string{"pool": "procs"}); sent < 1 {
		t.Errorf("procs sent %v tasks", sent)
	}
	var perWorker float64
	for _, w := range []string{"1", "2", "3"} {
		v, _ := value(t, fams, "mp_worker_items_total", map[string]string{"pool": "threads", "worker": w})
		perWorker += v
	}
	if perWorker != 10 {
		t.Errorf("threads' workers ran %v items, want 10", perWorker)
	}
	if _, ok := value(t, fams, "go_goroutines", nil); !ok {
		t.Error("no Go runtime metrics")
	}

	// OpenMetrics, when asked for
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") || !strings.HasSuffix(strings.TrimSpace(string(body)), "# EOF") {
		t.Errorf("OpenMetrics: content type %q, ends %q", ct, body[max(0, len(body)-20):])
	}

	c.Remove("procs")
	fams = scrape(t, srv.URL)
	if _, ok := value(t, fams, "mp_pool_workers", map[string]string{"pool": "procs"}); ok {
		t.Error("a removed pool is still scraped")
	}
}
