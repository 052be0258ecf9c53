// Package mp is Python's parallel-processing toolkit — multiprocessing,
// concurrent.futures, ThreadPool, tqdm over parallel work and the pandas
// "group by, apply in parallel, concat" pattern — for Go.
//
// At a glance:
//
//   - Func: a function a pool can run; Register names it (any backend),
//     Fn wraps a closure (goroutine pools), Fn2/Fn3 take several arguments.
//   - Pool: the workers. NewPool(Threads(n)) runs them on goroutines,
//     NewPool(Processes(n)) in worker processes (call Main first in main).
//   - Map, MapAsync, Starmap: a slice in, results in order out.
//   - Imap, ImapUnordered: a lazy iter.Seq in, an iter.Seq2 of results out,
//     in input or completion order, in constant memory.
//   - Submit (ApplyAsync), Apply: one task; Future holds its result.
//   - AsCompleted, Wait: consume many futures as they finish.
//   - GroupBy: split rows into groups to map over, in first-seen order.
//   - Progress, ProgressBar: a tqdm bar on any call (package progress).
//   - Chunksize, Timeout, Retries, Partial: per call, or pool-wide defaults.
//   - Initializer, WorkerState, MaxTasksPerChild: per-worker state.
//   - Process: one registered function in a child process, with Start,
//     Join, Terminate, Kill; CurrentProcess, ParentProcess, ActiveChildren,
//     JoinChildren.
//   - Command: an external command (an exec.Cmd) whose whole process
//     group ends with the task, the pool and the program, SIGKILL too.
//   - SharedMemory, RawArray, RawValue: memory every process maps, passed
//     to processes and tasks as arguments; Lock, Event, Semaphore in it.
//
// Python names and their mp counterparts:
//
//	Pool(processes, initializer, initargs)          NewPool(Processes(n), Initializer(f, arg))
//	maxtasksperchild                                MaxTasksPerChild(k)
//	if __name__ == "__main__": / freeze_support()   Main()
//	ThreadPool(n), ThreadPoolExecutor(n)            NewPool(Threads(n))
//	pool.map / map_async                            Map / MapAsync
//	pool.imap / imap_unordered                      Imap / ImapUnordered
//	pool.starmap / starmap_async                    Starmap / StarmapAsync
//	pool.apply / apply_async, executor.submit       Apply / ApplyAsync, Submit
//	as_completed, wait(return_when=...)             AsCompleted, Wait(FirstCompleted, ...)
//	AsyncResult, concurrent.futures.Future          *Future
//	Future(): set_result / set_exception            NewFuture(): SetResult / SetException
//	future.exception(timeout)                       f.Exception(ctx)
//	close()+join(), terminate()                     Close(), Terminate(); Join() waits, pool stays open
//	tqdm(pool.imap(...), total=n)                   Imap(..., Progress("desc"))
//	bar.update(n) inside a task                     Tick(ctx, n); ProgressTicks() to count ticks only
//	mpire's worker insights                         pool.Stats(); package metrics for Prometheus
//	cpu_count()                                     CPUCount()
//	Process(target, args, name, daemon)             NewProcess(f, arg, ProcessName(s), Daemon(true))
//	p.start() / join(timeout) / is_alive()          p.Start(ctx) / Join(ctx), JoinTimeout(d) / IsAlive()
//	p.terminate() / kill() / close() / exitcode     p.Terminate() / Kill() / Close() / ExitCode()
//	p.pid / name / daemon / sentinel                p.Pid() / Name() / IsDaemon() / Sentinel()
//	current_process(), active_children()            CurrentProcess(), ActiveChildren()
//	parent_process()                                ParentProcess()
//	(joining non-daemon children at exit)           JoinChildren(ctx) at the end of main
//	subprocess.run / Popen in a task                Command(ctx, name, args...): its process group dies with ctx, Wait, the program
//	shared_memory.SharedMemory(name, create, size)  CreateSharedMemory(name, size), AttachSharedMemory(name)
//	RawArray(type, n), RawValue(type, v)            NewRawArray[T](n), NewRawValue[T](v)
//	Value(type, v), Array(type, n), get_lock()      NewValue(v), NewArray[T](n), Update(ctx, f), GetLock()
//	Array(type, sequence), RawArray(type, sequence) NewArrayFrom(s), NewRawArrayFrom(s)
//	ShareableList(seq), SharedMemoryManager()       NewShareableList(vals), NewSharedMemoryManager(): Shutdown()
//	Queue(maxsize), JoinableQueue(maxsize)          NewQueue[T](maxsize), NewJoinableQueue[T](maxsize)
//	SimpleQueue(), Barrier(parties, action)         NewSimpleQueue[T](), NewBarrier(n, action)
//	Pipe(duplex) → Connection                       Pipe[T](duplex) → *Conn[T]: Send, Recv, Poll, ...
//	conn.close() (this process's copy)              Close(); CloseAll() closes both ends everywhere
//	connection.wait(objects, timeout)               WaitReady(ctx, conns, queues, processes...)
//	connection.Listener(address, authkey=k)         Listen[T](ctx, "unix"|"tcp", address, k): Accept(ctx), Addr, Close
//	connection.Client(address, authkey=k)           Dial[T](ctx, network, address, k) → *Conn[T]
//	BufferTooShort (recv_bytes_into)                *BufferTooShortError (the whole message), ErrBufferTooShort
//	Lock(): acquire(timeout) / release()             NewLock(): Lock(ctx) / Unlock(), TryLock()
//	RLock(), Condition(lock)                        NewRLock() (owner = the ctx Lock returns), NewCondition(l)
//	Condition() (over an RLock, Python's default)   NewRCondition(nil)
//	Event(): set / clear / is_set / wait(timeout)   NewEvent(): Set / Clear / IsSet / Wait(ctx)
//	Semaphore(n), BoundedSemaphore(n)               NewSemaphore(n), NewBoundedSemaphore(n)
//
// Python's threading module maps to Go itself; mp's objects work between
// goroutines too, and are the ones to use when processes share them:
//
//	threading.Thread(target, args).start() / join() go f(arg) with a sync.WaitGroup: wg.Go / wg.Wait;
//	                                                Submit on NewPool(Threads(n)) for a *Future
//	current_thread(), active_count(), enumerate()   none (goroutines have no identity): pass a name;
//	                                                WorkerID(ctx) in a task of a pool with an Initializer
//	queue.Queue(maxsize)                            make(chan T, maxsize), close(ch) for "no more";
//	                                                NewQueue / NewJoinableQueue for TaskDone, Join
//	threading.Lock, RLock, Semaphore, Event         sync.Mutex, sync.RWMutex, chan struct{}, close(ch);
//	                                                NewLock, NewRLock, NewSemaphore, NewEvent
//
// Every call takes a context first: cancelling it returns the call
// promptly with context.Cause(ctx) and cancels its tasks. Every task ends
// in exactly one result or one error; a panic in a task is that task's
// *PanicError and the pool keeps working. A failed item of a multi-item
// call is reported as a *TaskError with its index.
package mp
