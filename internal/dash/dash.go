// Package dash serves mp's live dashboard: a small web page that shows
// what each pool (mp.Dashboard) or mp run / mp groupby (--dashboard) is
// doing while it works — progress and ETA, tasks per second over time,
// the workers and their state and memory, the recent errors with the
// failing item — updated live over server-sent events.
//
// A Source (a pool, a run of jobs) gives a View when asked. The server
// asks each of its sources twice a second, keeps each one's rate
// history, and pushes one JSON snapshot of them all to every page open
// (/events), which also serves as /snapshot for scripts. Several sources
// share the server of one address; it stops when the last one leaves.
// Nothing of this runs unless a dashboard is asked for.
package dash

// Source is what the dashboard shows: a pool or a run of jobs.
type Source interface {
	// View describes the source now. It is called from the server's
	// own goroutine, twice a second, and must be safe for that.
	View() View
}

// View is what a Source shows: its counters, its workers and its recent
// errors. The JSON names are the page's.
type View struct {
	Name    string `json:"name"`    // "pool 1", "mp run"
	Backend string `json:"backend"` // "threads", "processes", "cluster", "jobs"
	Unit    string `json:"unit"`    // what it counts: "items", "jobs"
	// Total is the number of items known so far (given to the pool, or
	// read from the input); Final says that no more will come, so that
	// an ETA can be given.
	Total int64 `json:"total"`
	Final bool  `json:"final"`

	Done      int64 `json:"done"`
	Failed    int64 `json:"failed"`
	Running   int64 `json:"running"`
	Queued    int64 `json:"queued"`
	Cancelled int64 `json:"cancelled"`
	Retried   int64 `json:"retried"`
	TimedOut  int64 `json:"timedOut"`
	Restarts  int64 `json:"restarts"`
	Ticks     int64 `json:"ticks"`

	Uptime float64 `json:"uptime"` // seconds
	// RSS is the resident memory of this process, in bytes (0: unknown).
	RSS     int64    `json:"rss"`
	Workers []Worker `json:"workers"`
	Errors  []Error  `json:"errors"`
}

// Worker is one worker of a source: a goroutine, a worker process, a job
// slot.
type Worker struct {
	ID    int     `json:"id"`
	State string  `json:"state"` // "starting", "idle", "busy"
	Since float64 `json:"since"` // seconds in that state; 0: unknown
	Tasks int64   `json:"tasks"` // items or jobs it has run
	PID   int     `json:"pid"`   // its process (0: none of its own)
	// RSS is its process's resident memory in bytes (for a job slot:
	// of the job's whole process group); the server fills it from PID
	// when the source leaves it 0.
	RSS   int64  `json:"rss"`
	Doing string `json:"doing"` // what it runs now, when known: a job's command
	// Group says that PID leads a process group whose memory is the
	// worker's (a job and what it started).
	Group bool `json:"-"`
}

// Error is a recent failure of an item or job.
type Error struct {
	At    float64 `json:"at"`    // seconds since the source started
	Index int     `json:"index"` // the item's position in its call, the job's number
	Item  string  `json:"item"`  // the item or the job's command, printed
	Err   string  `json:"err"`
}
