"""Python's process pools on the tasks of bench/procs.go, for side-by-side ratios.

Prints one JSON object: {case: nanoseconds per task (median of runs)}.
Usage: python3 procs.py N_CHUNKED N_SINGLE N_APPLY RUNS
"""
import concurrent.futures
import json
import multiprocessing as mp
import sys

from common import sq, timed


def start_and_one(method):
    with mp.get_context(method).Pool(2) as pool:
        return pool.apply(sq, (3,))


def main():
    n_chunked, n_single, n_apply, runs = (int(a) for a in sys.argv[1:5])
    out = {}
    with mp.Pool(2) as pool:
        out["Pool.map chunksize=1000"] = timed(lambda: pool.map(sq, range(n_chunked), chunksize=1000), n_chunked, runs)
        out["Pool.map chunksize=1"] = timed(lambda: pool.map(sq, range(n_single), chunksize=1), n_single, runs)
        out["Pool.apply round trip"] = timed(lambda: [pool.apply(sq, (i,)) for i in range(n_apply)], n_apply, runs)
    with concurrent.futures.ProcessPoolExecutor(2) as ex:
        out["ProcessPoolExecutor.map chunksize=1000"] = timed(
            lambda: list(ex.map(sq, range(n_chunked), chunksize=1000)), n_chunked, runs)
        out["ProcessPoolExecutor.map chunksize=1"] = timed(
            lambda: list(ex.map(sq, range(n_single), chunksize=1)), n_single, runs)
    out["Pool(2) start + one result, spawn"] = timed(lambda: start_and_one("spawn"), 1, runs)
    out["Pool(2) start + one result, fork"] = timed(lambda: start_and_one("fork"), 1, runs)
    # the forkserver process starts at the first use, untimed here as
    # mp.Prestart's spares are
    start_and_one("forkserver")
    out["Pool(2) start + one result, forkserver"] = timed(lambda: start_and_one("forkserver"), 1, runs)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
