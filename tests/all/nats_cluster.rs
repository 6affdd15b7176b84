//! A map on a three-server JetStream cluster with `--replicas 3`: it goes
//! on when a server is killed, whether or not its client was using it.

use std::time::Duration;

use crate::harness::pack_suite;
use crate::map::{Background, assert_outputs, fib_inputs};
use crate::nats::{NatsCluster, WorkerProcess};

/// A map of 1 000 `fib` inputs in tasks of 10 on every server of `cluster`,
/// once 50 lines are out.
fn map_under_way(dir: &std::path::Path, file: &str, urls: &str) -> (Vec<String>, Background) {
    let (input, expected) = fib_inputs(1000);
    let args = ["map", file, "--input", "-", "--nats", urls, "--batch", "10", "--replicas", "3"];
    let map = Background::start(dir, &args, input);
    map.wait_for_lines(50, Duration::from_secs(120));
    (expected, map)
}

#[test]
fn a_map_with_three_replicas_survives_losing_a_server_its_client_does_not_use_then_the_one_it_does() {
    let mut cluster = NatsCluster::start();
    let urls = cluster.urls();
    let _workers =
        [WorkerProcess::start(&urls, &["--replicas", "3"]), WorkerProcess::start(&urls, &["--replicas", "3"])];
    let packed = pack_suite("fib_from", &["0"]);
    let file = packed.file.to_str().unwrap();

    // A server the map is not connected to (a worker may be).
    let (expected, map) = map_under_way(packed.dir.path(), file, &urls);
    let used = cluster.serving("shipfn map");
    assert_eq!(used.len(), 1, "the map is connected to one server: {used:?}");
    let other = (0..3).find(|i| !used.contains(i)).unwrap();
    cluster.servers[other].kill();
    let out = map.finish(Duration::from_secs(240));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
    cluster.wait_healthy(Duration::from_secs(90));
    assert_eq!(replicas(&urls, &["SHIPFN_TASKS", "SHIPFN_RESULTS", "OBJ_shipfn"]), [3, 3, 3]);

    // Back to three, then the server the map is connected to.
    cluster.servers[other].start_again();
    cluster.wait_healthy(Duration::from_secs(60));
    let (expected, map) = map_under_way(packed.dir.path(), file, &urls);
    let used = cluster.serving("shipfn map");
    assert_eq!(used.len(), 1, "the map is connected to one server: {used:?}");
    cluster.servers[used[0]].kill();
    let out = map.finish(Duration::from_secs(240));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
}

/// How many replicas each of `streams` has. With a server just lost, the
/// cluster may still be electing a meta leader: a JetStream API request can
/// time out meanwhile, so each stream is asked again until `LIMIT`.
fn replicas(urls: &str, streams: &[&str]) -> Vec<usize> {
    const LIMIT: Duration = Duration::from_secs(90);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let urls: Vec<&str> = urls.split(',').collect();
        let js = async_nats::jetstream::new(async_nats::connect(urls).await.expect("connects"));
        let deadline = std::time::Instant::now() + LIMIT;
        let mut counts = Vec::new();
        for name in streams {
            let count = loop {
                let asked = async { anyhow::Ok(js.get_stream(*name).await?.info().await?.config.num_replicas) };
                match asked.await {
                    Ok(count) => break count,
                    Err(e) if std::time::Instant::now() < deadline => {
                        eprintln!("stream {name}: {e:#}; asking again");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => panic!("stream {name} did not answer within {LIMIT:?}: {e:#}"),
                }
            };
            counts.push(count);
        }
        counts
    })
}
