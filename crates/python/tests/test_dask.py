"""A Function travels through Dask to worker processes that have only the
`shipfn` package: no Rust, no source."""


import pytest

import shipfn



def test_client_map_over_10_000_inputs_on_two_worker_processes(seed_bytes):
    from distributed import Client, LocalCluster

    f = shipfn.load(seed_bytes)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            inputs = list(range(10_000))
            futures = client.map(f, inputs, batch_size=1000)
            assert client.gather(futures) == [f(x) for x in inputs]
            # The workers ran it: each is another process.
            pids = client.run(lambda: __import__("os").getpid())
            assert len(set(pids.values())) == 2
