"""A Function travels to Ray's worker processes as a task argument."""

import shipfn


def test_ray_tasks_call_a_shipped_function(seed_bytes):
    import ray

    f = shipfn.load(seed_bytes)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        @ray.remote
        def apply(function, xs):
            import os
            return os.getpid(), [function(x) for x in xs]

        shared = ray.put(f)
        chunks = [list(range(n, n + 100)) for n in range(0, 1000, 100)]
        done = ray.get([apply.remote(shared, xs) for xs in chunks])
        assert [y for _, ys in done for y in ys] == [f(x) for x in range(1000)]
        assert os_pid() not in {pid for pid, _ in done}
    finally:
        ray.shutdown()


def os_pid():
    import os
    return os.getpid()
