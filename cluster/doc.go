// Package cluster runs mp pools beyond one machine, on NATS JetStream: it
// holds everything NATS, so that programs that do not use it do not carry
// it. Link it and use mp.Cluster:
//
//	import _ "github.com/mp-go/mp/cluster"
//
//	pool, err := mp.NewPool(mp.Cluster(""))               // embedded server, local workers
//	pool, err := mp.NewPool(mp.Cluster("nats://host:4222")) // an existing cluster
//
// With "" the pool starts a NATS server with JetStream in its own process
// (loopback, a free port, a random token that only the pool and its
// workers know, the store in a temporary directory) and mp.LocalWorkers
// worker processes. Workers on other hosts are the same
// program started with MP_CLUSTER_WORKER=<url> (it must call mp.Main);
// `mp server` runs a standalone server (StartServer) for several hosts.
//
// # What is guaranteed
//
//   - A task (a chunk of items) is published to the work-queue stream
//     MP_TASKS and taken by one worker at a time (the durable consumer
//     "workers", explicit acks). The worker stores the task's results in
//     the stream MP_RESULTS, then acknowledges the task.
//   - A worker that dies or stalls (no sign of life within mp.AckWait;
//     workers send one every third of it while a task runs) has its task
//     delivered to another worker. So a task runs at least once, and may
//     run more than once: tasks must be idempotent (or their effects
//     deduplicated) — a task killed halfway may have done half its work.
//   - The caller gets exactly one result per item: a task's results are
//     delivered once, duplicates from a second run are dropped by the
//     pool, and results are stored before the ack, so a crash after
//     storing does not lose them.
//   - A task that ran 5 times without a result (each worker that ran it
//     died or stalled: a "poison" task that crashes its process) fails
//     with ErrUndeliverable instead of looping. Blame is exact: before it
//     runs a task delivered before, a worker settles the tasks it ran
//     (their acks reach the server first) and asks the pool, which counts
//     the task's runs; tasks a dying worker held without running them are
//     not counted. The consumer's own limit, 20 deliveries, ends a task
//     whose workers cannot reach its pool.
//   - A cancelled call (its context, mp.Timeout) deletes its tasks not yet
//     taken from the stream, and the workers running the others cancel
//     their contexts (a message on mp.cancel); their results are dropped.
//   - Tasks bigger than the cluster's message limit (1 MiB by default)
//     and results bigger than half of it travel through JetStream's
//     object store (bucket mp-payloads, in chunks; up to 1 GiB): the
//     message carries the object's name. A task's object is deleted when
//     its call has its results or ends, a result's when the pool closes;
//     the bucket's TTL (an hour, as long as results are kept for
//     ClusterRun) removes what a crashed pool left. mp run -cluster jobs
//     take --pipe blocks and give output of up to 24 MiB a stream.
//   - If the pool loses its cluster for good (after a minute of
//     reconnecting), the tasks in flight fail with ErrClusterGone.
//   - mp.Tick moves the call's bar while a task runs, for calls with a
//     bar only: the worker sends the ticks, summed, at most every 50 ms
//     per task, on the core subject mp.ticks.<pool> (not stored: one lost
//     on a reconnect only holds the bar back), and the task's count in
//     all with its results, so that the bar is exact once they are in.
//
// # A program that crashes and runs again
//
// With mp.ClusterRun(name), a pool's work survives the program: run
// again after a crash (on a cluster that keeps its store), the same calls
// with the same inputs finish what was pending. A task is known by its
// call's number and its first item; results stored before the crash are
// read back (kept an hour) instead of running the task again, and a task
// still queued or running is not sent twice (the server drops the second
// publication within an hour). Tested by SIGKILLing the program mid-map
// and running it again: every item once. Without ClusterRun, a crashed
// program loses its calls, as a crashed Python process loses its
// Pool.map (the tasks it queued still run, their results unread).
package cluster
