"""shipfn from Python beside plain Python and cloudpickle, each row against
its baseline in the same run. Run by scripts/bench.sh; prints a Markdown
table."""

import pathlib
import sys
import time

import cloudpickle

import shipfn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from conftest import build_guest  # noqa: E402

global_arg = 2


def closure_maker(closure_arg):
    def closure_func(own_arg):
        return own_arg + closure_arg + global_arg + 1

    return closure_func


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def best_per_op(run, ops, repeats=5):
    """The best of `repeats` timings of `run` (which does `ops` operations), per operation."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) / ops)
    return min(times)


def us(seconds):
    return f"{seconds * 1e6:.2f} µs"


def main():
    seed = build_guest("examples/closure")
    suite = build_guest("tests/guests/suite")
    rows = []

    # Receive a new closure and call it once: a thin package whose module
    # this process already has, against cloudpickle.loads + call.
    n = 300
    shipfn.make(seed, "closure_maker", 0)(4)  # the module, compiled and in the store
    thin = [shipfn.make(seed, "closure_maker", i).package(thin=True) for i in range(n)]
    pickled = [cloudpickle.dumps(closure_maker(i)) for i in range(n)]
    ship_new = best_per_op(lambda: [shipfn.load(p)(4) for p in thin], n)
    pickle_new = best_per_op(lambda: [cloudpickle.loads(p)(4) for p in pickled], n)
    rows.append(("receive a new closure and call it once (thin, module known)", us(ship_new),
                 us(pickle_new) + " (cloudpickle loads + call)", f"{ship_new / pickle_new:.2f}×"))

    # One call on a fresh instance, against a plain Python call.
    f = shipfn.make(seed, "closure_maker", 3)
    g = closure_maker(3)
    calls = 20_000
    ship_call = best_per_op(lambda: [f(4) for _ in range(calls)], calls)
    py_call = best_per_op(lambda: [g(4) for _ in range(calls)], calls)
    rows.append(("one call from Python, fresh instance", us(ship_call), us(py_call) + " (a Python call)",
                 f"{ship_call / py_call:.1f}×"))

    # Compute-heavy: recursive fib(10..19) over 100 000 inputs on Dask, in
    # chunks of 1000 per task, shipfn against the same function in Python.
    from distributed import Client, LocalCluster

    fib_fn = shipfn.make(suite, "fib_from", 0)
    inputs = [10 + x % 10 for x in range(100_000)]
    chunks = [inputs[i:i + 1000] for i in range(0, len(inputs), 1000)]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            def run(function):
                start = time.perf_counter()
                futures = client.map(lambda chunk, h=function: [h(x) for x in chunk], chunks, pure=False)
                results = [y for part in client.gather(futures) for y in part]
                return time.perf_counter() - start, results

            run(fib_fn)  # warm the workers
            ship_time, ship_results = run(fib_fn)
            py_time, py_results = run(fib)
            assert ship_results == py_results
    rate = len(inputs) / ship_time
    rows.append(("fib(10..19) over 100 000 inputs on Dask (2 worker processes)", f"{rate:,.0f} inputs/s",
                 f"{len(inputs) / py_time:,.0f} inputs/s (the same in Python)", f"{py_time / ship_time:.1f}× faster"))

    print(f"\nshipfn for Python on Python {sys.version.split()[0]}, cloudpickle {cloudpickle.__version__}\n")
    print("| measure | shipfn | baseline | ratio |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
