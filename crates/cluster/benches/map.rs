//! `shipfn map` throughput and overheads on the seed closure, each beside
//! its baseline measured in the same run: the raw fresh-call rate on the
//! same threads, and the call itself inside a NATS task.
//!
//! `cargo bench -p shipfn-cluster --bench map` (or `scripts/bench.sh`). It
//! starts its own `nats-server` (from `scripts/setup.sh`) on a free loopback
//! port and two `shipfn worker` processes (`target/release/shipfn`, or
//! `$SHIPFN_BIN`), and stops them when it ends. The server also takes TLS
//! (certificates made with `openssl`): two more workers in their own
//! namespace use it, so TLS is measured beside plain TCP on the same server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use shipfn_build::{BuildOptions, Toolchain};
use shipfn_cluster::{Local, Namespace, Nats, NatsConfig, Pool, Tls};
use shipfn_host::{Function, Host, Limits};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Fresh JSON calls per second from `threads` threads, without `map`.
fn raw_rate(function: &Function, threads: usize, run_for: Duration) -> f64 {
    let (calls, stop, start) = (AtomicU64::new(0), AtomicBool::new(false), Instant::now());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(function.call_json(&["4".into()]).expect("call"), "10");
                    n += 1;
                }
                calls.fetch_add(n, Ordering::Relaxed);
            });
        }
        std::thread::sleep(run_for);
        stop.store(true, Ordering::Relaxed);
    });
    calls.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// Inputs per second of one map of `n` inputs, checking every outcome.
fn map_rate(pool: &dyn Pool, package: &[u8], n: u64) -> (f64, Duration) {
    let start = Instant::now();
    let inputs = Box::new((0..n).map(|i| format!("[{i}]")));
    let mut first = None;
    let mut count = 0;
    for (i, outcome) in pool.map(package.to_vec(), inputs).expect("map").enumerate() {
        first.get_or_insert_with(|| start.elapsed());
        assert_eq!(outcome.expect("an ok outcome"), (i as u64 + 6).to_string());
        count += 1;
    }
    assert_eq!(count, n);
    (n as f64 / start.elapsed().as_secs_f64(), first.unwrap_or_default())
}

/// Processes stopped when dropped.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A CA and a server certificate it signed for 127.0.0.1, in `dir`.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl").current_dir(dir).args(args).stderr(Stdio::null()).status();
        assert!(status.expect("openssl (scripts/setup.sh installs it)").success(), "openssl {args:?}");
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        &[&["req", "-x509"][..], &ec, &["-keyout", "ca-key.pem", "-out", "ca.pem", "-subj", "/CN=bench CA"]].concat(),
    );
    openssl(&[&["req"][..], &ec, &["-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=server"]].concat());
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("san.ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

/// Tasks per second of maps of one input per task, 64 in flight.
fn tasks_rate(config: NatsConfig, package: &[u8]) -> f64 {
    let per_task = Nats::new(config.batch(1));
    median((0..3).map(|_| map_rate(&per_task, package, 5_000).0).collect())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("an address").port()
}

fn main() {
    let toolchain = Toolchain::detect().expect("a wasm32 toolchain (scripts/setup.sh)");
    let options = BuildOptions { target_dir: Some(repo().join("target/guests")), quiet: true, ..Default::default() };
    let wasm =
        shipfn_build::build(&repo().join("examples/closure"), &toolchain, &options).expect("the seed guest builds");
    let wasm = std::fs::read(wasm).expect("the seed module");
    let wasm = shipfn_host::slim_module(&wasm, shipfn_host::Keep::Nothing).expect("the seed module parses");
    let host = Host::new(Limits::default()).expect("a host");
    let package = host.make(&wasm, "closure_maker", &["3".into()]).expect("pack").to_bytes();
    let function = host.load(&package).expect("load");
    let threads = std::thread::available_parallelism().map_or(1, usize::from);

    // One machine: map beside the raw fresh-call rate on the same threads.
    let local = Local::new(host.clone()).jobs(threads);
    let _ = map_rate(&local, &package, 20_000);
    // Alternating rounds, so that a slow minute weighs on both alike.
    let (raws, locals): (Vec<f64>, Vec<f64>) = (0..3)
        .map(|_| (raw_rate(&function, threads, Duration::from_secs(2)), map_rate(&local, &package, 200_000).0))
        .unzip();
    let (raw, local_rate) = (median(raws), median(locals));

    // Many machines: a real server and two real workers on this machine.
    let shipfn = std::env::var_os("SHIPFN_BIN").map_or_else(|| repo().join("target/release/shipfn"), PathBuf::from);
    let nats_server = std::fs::read_to_string(repo().join("target/nats-server-path"))
        .map_or_else(|_| "nats-server".to_owned(), |p| p.trim().to_owned());
    let scratch = tempfile::tempdir().expect("tempdir");
    certificates(scratch.path());
    let pem = |name: &str| scratch.path().join(name).to_str().expect("a UTF-8 path").to_owned();
    std::fs::write(
        scratch.path().join("server.conf"),
        format!(
            "tls {{ cert_file: \"{}\", key_file: \"{}\" }}\nallow_non_tls: true\n",
            pem("server.pem"),
            pem("server-key.pem")
        ),
    )
    .expect("server.conf");
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let mut processes = Processes(vec![
        Command::new(&nats_server)
            .arg("-c")
            .arg(scratch.path().join("server.conf"))
            .args(["--jetstream", "--store_dir"])
            .arg(scratch.path().join("js"))
            .args(["--addr", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (scripts/setup.sh installs it)"),
    ]);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    for n in 0..4 {
        let tls: &[&str] = if n < 2 { &[] } else { &["--namespace", "tls", "--tlsca", &pem("ca.pem")] };
        processes.0.push(
            Command::new(&shipfn)
                .args(["worker", "--nats", &url, "--cache-dir"])
                .arg(scratch.path().join(format!("cache-{n}")))
                .args(tls)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("shipfn worker (cargo build --release first)"),
        );
    }
    // The first map ships the module and warms both workers.
    let nats = Nats::new(NatsConfig::new(url.clone()));
    let (_, cold_first) = map_rate(&nats, &package, 10_000);
    let shipped_first = nats.stats();
    let (_, _) = map_rate(&nats, &package, 10_000);
    let shipped_again = nats.stats();
    let runs: Vec<(f64, Duration)> = (0..3).map(|_| map_rate(&nats, &package, 100_000)).collect();
    let nats_rate = median(runs.iter().map(|r| r.0).collect());
    let first_ms = median(runs.iter().map(|r| r.1.as_secs_f64() * 1e3).collect());
    // One task of one input at a time: each outcome's wait is a whole round
    // trip (publish, fetch, call, result, ack), less the call itself.
    let single = Nats::new(NatsConfig::new(url.clone()).batch(1).ahead(1));
    let mut gaps = Vec::new();
    let mut last = Instant::now();
    for (i, outcome) in
        single.map(package.clone(), Box::new((0..400).map(|i| format!("[{i}]")))).expect("map").enumerate()
    {
        assert_eq!(outcome.expect("ok"), (i + 6).to_string());
        gaps.push(last.elapsed().as_secs_f64() * 1e6);
        last = Instant::now();
    }
    let task_us = median(gaps[50..].to_vec());
    // Many one-input tasks in flight: what each task costs in throughput,
    // the sense of Dask's per-task overhead.
    let tasks_per_s = tasks_rate(NatsConfig::new(url.clone()), &package);
    let per_task_us = 1e6 / tasks_per_s - 1e6 / raw;
    // The same maps under TLS, in alternating rounds with plain ones.
    let mut tls = Tls::default();
    tls.ca = Some(scratch.path().join("ca.pem"));
    let tls_config = NatsConfig::new(url.clone()).tls(tls).namespace(Namespace::new("tls").expect("a namespace"));
    let over_tls = Nats::new(tls_config.clone());
    let _ = map_rate(&over_tls, &package, 10_000);
    let (plains, tlses): (Vec<f64>, Vec<f64>) =
        (0..3).map(|_| (map_rate(&nats, &package, 100_000).0, map_rate(&over_tls, &package, 100_000).0)).unzip();
    let (plain_rate, tls_rate) = (median(plains), median(tlses));
    let tls_tasks_per_s = tasks_rate(tls_config, &package);
    let tls_per_task_us = 1e6 / tls_tasks_per_s - 1e6 / raw;
    let call_us = median(
        (0..15)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..200 {
                    function.call_json(&["4".into()]).expect("call");
                }
                start.elapsed().as_secs_f64() * 1e6 / 200.0
            })
            .collect(),
    );
    drop(processes);

    let met = |ok: bool| if ok { "✓" } else { "✗ missed" };
    let local_ratio = local_rate / raw;
    let overhead_us = task_us - call_us;
    println!();
    println!("shipfn map on the seed closure (closure_maker(3), inputs [i]), {threads} threads, one run");
    println!();
    println!("| measure | figure | baseline (same run) | ratio | target |");
    println!("|---|---:|---:|---:|---|");
    println!(
        "| local map, inputs/s | {local_rate:.0} | raw fresh calls/s on {threads} threads: {raw:.0} | {local_ratio:.2}× | ≥ 0.8× {} |",
        met(local_ratio >= 0.8)
    );
    println!(
        "| NATS map, 2 workers on loopback, batch 100, inputs/s | {nats_rate:.0} | | | ≥ 20 000 {} |",
        met(nats_rate >= 20_000.0)
    );
    println!(
        "| NATS per-task overhead in throughput: one input per task, 64 in flight | {per_task_us:.0} µs | {tasks_per_s:.0} tasks/s against {raw:.0} raw calls/s | | < 200 µs (Dask) {} |",
        met(per_task_us < 200.0)
    );
    println!(
        "| NATS map under TLS, 2 workers, batch 100, inputs/s | {tls_rate:.0} | without TLS, same server, alternating rounds: {plain_rate:.0} | {:.2}× | ≥ 0.9× {} |",
        tls_rate / plain_rate,
        met(tls_rate >= 0.9 * plain_rate)
    );
    println!(
        "| NATS per-task overhead under TLS, one input per task | {tls_per_task_us:.0} µs | without TLS: {per_task_us:.0} µs | | |"
    );
    println!(
        "| NATS latency of a lone task above its call (one in flight), median | {overhead_us:.0} µs | call {call_us:.1} µs; round trip {task_us:.0} µs | | |"
    );
    println!(
        "| NATS time to first result (100 000 inputs; workers warm) | {first_ms:.1} ms | first map, module shipped and compiled: {:.0} ms | | |",
        cold_first.as_secs_f64() * 1e3
    );
    println!(
        "| bytes sent for 10 000 inputs, first map | {} | module {} + inputs {} | | ≈ one module + inputs |",
        shipped_first.uploaded_bytes + shipped_first.task_bytes,
        wasm.len(),
        shipped_first.task_bytes
    );
    println!(
        "| bytes sent for 10 000 inputs, module already shipped | {} | inputs {} | | |",
        shipped_again.uploaded_bytes + shipped_again.task_bytes,
        shipped_again.task_bytes
    );
    let figures = serde_json::json!({
        "threads": threads,
        "local_map_inputs_per_s": local_rate,
        "raw_fresh_calls_per_s": raw,
        "local_map_ratio": local_ratio,
        "nats_map_inputs_per_s": nats_rate,
        "nats_task_round_trip_us": task_us,
        "nats_call_us": call_us,
        "nats_task_latency_over_call_us": overhead_us,
        "nats_tasks_per_s_batch_1": tasks_per_s,
        "nats_task_overhead_us": per_task_us,
        "nats_tls_inputs_per_s": tls_rate,
        "nats_plain_inputs_per_s_beside_tls": plain_rate,
        "nats_tls_ratio": tls_rate / plain_rate,
        "nats_tls_task_overhead_us": tls_per_task_us,
        "nats_first_result_ms": first_ms,
        "nats_first_map_ms": cold_first.as_secs_f64() * 1e3,
        "nats_bytes_first_map": shipped_first.uploaded_bytes + shipped_first.task_bytes,
        "nats_bytes_again": shipped_again.uploaded_bytes + shipped_again.task_bytes,
        "module_bytes": wasm.len(),
        "input_bytes": shipped_first.task_bytes,
    });
    let path = repo().join("target/bench/map.json");
    std::fs::create_dir_all(path.parent().unwrap()).expect("target/bench");
    std::fs::write(&path, serde_json::to_string_pretty(&figures).expect("JSON")).expect("target/bench/map.json");
    println!();
    println!("Figures as JSON: {}", path.display());
}
