"""Helpers shared by the Python side of the benchmarks."""
import statistics
import time


def sq(x):
    return x * x


def timed(fn, n, runs):
    """Median over runs of fn's time, in nanoseconds per task (n tasks)."""
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e9 / n)
    return statistics.median(ts)
