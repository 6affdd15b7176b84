"""A process forked after using shipfn (multiprocessing's default on Linux)
has hosts of its own: Functions inherited from the parent call right, time
out, and map there, and a module new to the child compiles there."""

import multiprocessing
import os
import tempfile
import time

import shipfn


def _in_child(seed, spin, suite_wasm, cache, results):
    # A cache of the child's own, so that the module below is compiled here.
    os.environ["SHIPFN_CACHE_DIR"] = cache
    out = {"pid": os.getpid(), "call": seed(4), "map": seed.map(range(1000)), "describe": seed.describe()}
    started = time.monotonic()
    try:
        spin()
        out["spin"] = "returned"
    except shipfn.Timeout:
        out["spin"] = time.monotonic() - started
    # Past the compile time limit (30 s) if the compile waited for threads
    # that only the parent had.
    out["made"] = shipfn.make(suite_wasm, "linear", 2)(1, 2, 3)
    results.put(out)


def test_functions_inherited_by_a_forked_child_run_there_under_their_limits(seed_bytes, suite_wasm):
    seed = shipfn.load(seed_bytes)
    spin = shipfn.make(suite_wasm, "spin", timeout=0.5)
    # The parent's hosts are in use: their epoch clock and compile threads run.
    assert seed(4) == 10
    try:
        spin()
        raise AssertionError("spin returned")
    except shipfn.Timeout:
        pass

    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    with tempfile.TemporaryDirectory(prefix="shipfn-fork-cache-") as cache:
        child = fork.Process(target=_in_child, args=(seed, spin, suite_wasm, cache, results))
        child.start()
        child.join(120)
        if child.is_alive():
            child.kill()
            raise AssertionError("the forked child hung")
        assert child.exitcode == 0, child.exitcode
        out = results.get(timeout=5)
        assert any(os.scandir(cache)), "the child kept its module in its own cache"

    assert out["pid"] != os.getpid()
    assert out["call"] == 10
    assert out["describe"] == seed.describe()
    assert out["map"] == [x + 6 for x in range(1000)]
    assert isinstance(out["spin"], float), out["spin"]
    assert out["made"] == shipfn.make(suite_wasm, "linear", 2)(1, 2, 3)
    # The parent's Functions still work.
    assert seed(5) == 11
