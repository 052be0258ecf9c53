"""Python's multiprocessing.Queue on the case of bench/shm.go: one producer
process puts N small ints, the parent gets them all.

Prints one JSON object: {case: nanoseconds per message (median of runs)}.
Usage: python3 queue.py N RUNS
"""
import json
import multiprocessing as mp
import sys
import time


def produce(q, n):
    for i in range(n):
        q.put(i)


def once(n):
    q = mp.Queue()
    p = mp.Process(target=produce, args=(q, n))
    t0 = time.perf_counter_ns()
    p.start()
    total = 0
    for _ in range(n):
        total += q.get()
    p.join()
    dt = time.perf_counter_ns() - t0
    assert total == n * (n - 1) // 2
    return dt / n


def main():
    n, runs = int(sys.argv[1]), int(sys.argv[2])
    ts = sorted(once(n) for _ in range(runs))
    json.dump({"multiprocessing.Queue, producer process -> parent": ts[len(ts) // 2]}, sys.stdout)


if __name__ == "__main__":
    main()
