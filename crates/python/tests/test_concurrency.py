"""Calls release the GIL: many threads share one Function, and `map` runs
on every core, in input order."""

import threading

import shipfn


def test_eight_threads_call_one_function_at_once(seed_bytes):
    f = shipfn.load(seed_bytes)
    wrong = []

    def caller(offset):
        for x in range(offset, offset + 500):
            if f(x) != x + 6:
                wrong.append(x)

    threads = [threading.Thread(target=caller, args=(n * 1000,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_map_over_100_000_inputs_matches_one_call_at_a_time(seed_bytes):
    f = shipfn.load(seed_bytes)
    inputs = range(-50_000, 50_000)
    assert f.map(inputs) == [f(x) for x in inputs]


def test_map_takes_tuples_for_several_parameters_and_names_a_failing_input(suite_wasm):
    linear = shipfn.make(suite_wasm, "linear", 2)
    rows = [(x, x + 1, x + 2) for x in range(100)]
    assert linear.map(rows, jobs=3) == [linear(*row) for row in rows]
    div = shipfn.make(suite_wasm, "checked_div", 12)
    try:
        div.map([1, 2, 0, 3])
    except shipfn.GuestError as e:
        assert str(e).startswith("input 2:"), str(e)
    else:
        raise AssertionError("a failing input must raise")
