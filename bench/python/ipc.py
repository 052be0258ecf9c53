"""Python's Pipe and Lock on the cases of bench/shm.go.

Prints one JSON object: {case: nanoseconds per operation (median of runs)}.
Usage: python3 ipc.py N_PINGPONG N_LOCK RUNS
"""
import json
import multiprocessing as mp
import sys
import time


def echo(conn, n):
    for _ in range(n):
        conn.send(conn.recv())


def pingpong(n):
    a, b = mp.Pipe()
    p = mp.Process(target=echo, args=(b, n))
    p.start()
    a.send(0)
    a.recv()  # the child is up
    t0 = time.perf_counter_ns()
    for i in range(n - 1):
        a.send(i)
        a.recv()
    dt = time.perf_counter_ns() - t0
    p.join()
    return dt / (n - 1)


def bump(lock, value, n):
    for _ in range(n):
        with lock:
            value.value += 1


def contended(n):
    lock = mp.Lock()
    value = mp.Value("q", 0, lock=False)
    ps = [mp.Process(target=bump, args=(lock, value, n)) for _ in range(2)]
    t0 = time.perf_counter_ns()
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    dt = time.perf_counter_ns() - t0
    assert value.value == 2 * n
    return dt / (2 * n)


def main():
    n_pp, n_lock, runs = (int(a) for a in sys.argv[1:4])
    out = {
        "Pipe ping-pong (round trip)": sorted(pingpong(n_pp) for _ in range(runs))[runs // 2],
        "Lock, 2 processes contending (per lock+unlock)": sorted(contended(n_lock) for _ in range(runs))[runs // 2],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
