"""Python's Manager().dict() on the cases of bench/manager.go.

Prints one JSON object: {case: nanoseconds per operation (median of runs)}.
Usage: python3 manager.py N_OPS N_BATCH_ITEMS BATCH RUNS
"""
import json
import multiprocessing as mp
import sys
import time


def setget(d, n, out):
    len(d)  # connects
    t0 = time.perf_counter_ns()
    for i in range(n // 2):
        k = "k%d" % (i % 1000)
        d[k] = i
        d[k]
    out.put((time.perf_counter_ns() - t0) / n)


def batch(d, n, size, out):
    items = {"k%d" % i: i for i in range(size)}
    len(d)  # connects
    t0 = time.perf_counter_ns()
    for _ in range(n // (2 * size)):
        d.update(items)
        d.copy()  # Python has no get-many: copy() is its batch read
    out.put((time.perf_counter_ns() - t0) / n)


def run(target, *args):
    with mp.Manager() as m:
        d = m.dict()
        out = mp.Queue()
        p = mp.Process(target=target, args=(d,) + args + (out,))
        p.start()
        ns = out.get()
        p.join()
        return ns


def main():
    n, nb, size, runs = (int(a) for a in sys.argv[1:5])
    med = lambda xs: sorted(xs)[len(xs) // 2]
    out = {
        "dict set+get from a child": med([run(setget, n) for _ in range(runs)]),
        "dict batch update+copy from a child": med([run(batch, nb, size) for _ in range(runs)]),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
