"""Python's own pools on the same tasks as bench/main.go, for side-by-side ratios.

Prints one JSON object: {case: nanoseconds per task (median of runs)}.
Usage: python3 peers.py N RUNS WORKERS
"""
import concurrent.futures
import json
import multiprocessing
import sys

from common import sq, timed


def main():
    n, runs, workers = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    items = list(range(n))
    nsub = max(n // 50, 100)  # one future per task is slow in Python: fewer tasks, same unit
    out = {}
    out["serial loop"] = timed(lambda: [sq(x) for x in items], n, runs)
    with multiprocessing.Pool(workers) as pool:
        out["Pool.map"] = timed(lambda: pool.map(sq, items), n, runs)
        out["Pool.imap(chunksize=1000)"] = timed(lambda: list(pool.imap(sq, items, chunksize=1000)), n, runs)
        out["Pool.imap_unordered(chunksize=1000)"] = timed(
            lambda: list(pool.imap_unordered(sq, items, chunksize=1000)), n, runs)
    with concurrent.futures.ProcessPoolExecutor(workers) as ex:
        out["ProcessPoolExecutor.submit"] = timed(
            lambda: [f.result() for f in [ex.submit(sq, x) for x in range(nsub)]], nsub, runs)
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        out["ThreadPoolExecutor.submit"] = timed(
            lambda: [f.result() for f in [ex.submit(sq, x) for x in range(nsub)]], nsub, runs)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
