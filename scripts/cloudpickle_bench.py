"""The seed closure in cloudpickle: loads+call, dumps, payload size, as JSON.

Run by `cargo bench -p shipfn-host --bench compare` beside shipfn's figures.
"""
import json
import statistics
import time

import cloudpickle
import pickle

global_arg = 2


def closure_maker(closure_arg):
    def closure_func(own_arg):
        return own_arg + closure_arg + global_arg + 1

    return closure_func


def median_us(fn, batch=2000, rounds=25):
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter_ns() - start) / batch / 1000)
    return statistics.median(samples)


payload = cloudpickle.dumps(closure_maker(3))
assert pickle.loads(payload)(4) == 10
print(json.dumps({
    "version": cloudpickle.__version__,
    "loads_call_us": median_us(lambda: pickle.loads(payload)(4)),
    "dumps_us": median_us(lambda: cloudpickle.dumps(closure_maker(3)), batch=500),
    "payload_bytes": len(payload),
}))
