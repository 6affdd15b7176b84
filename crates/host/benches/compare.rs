//! shipfn's seed-closure figures beside cloudpickle's, measured in one run,
//! printed as a table of figures, targets and ratios.
//!
//! `cargo bench -p shipfn-host --bench compare` (or `scripts/bench.sh`, which
//! also installs cloudpickle). Medians of batches; the machine is whatever
//! runs it, so compare ratios, not absolute numbers, across machines.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use shipfn_build::{BuildOptions, Toolchain};
use shipfn_host::{Function, Host, Limits};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Median time per call, in microseconds, of `rounds` batches of `batch` calls.
fn median_us(batch: u32, rounds: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..batch {
        f();
    }
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(batch)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Calls per second from `threads` threads calling `function` on fresh instances.
fn throughput(function: &Function, threads: usize, run_for: Duration) -> f64 {
    let calls = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let r: i64 = function.call(&(4i64,)).expect("call");
                    assert_eq!(r, 10);
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

fn cloudpickle() -> Option<serde_json::Value> {
    let out = Command::new("python3").arg(repo().join("scripts/cloudpickle_bench.py")).output().ok()?;
    if !out.status.success() {
        eprintln!("cloudpickle: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("failed"));
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

fn main() {
    let toolchain = Toolchain::detect().expect("a wasm32 toolchain (scripts/setup.sh)");
    let options = BuildOptions { target_dir: Some(repo().join("target/guests")), quiet: true };
    let wasm =
        shipfn_build::build(&repo().join("examples/closure"), &toolchain, &options).expect("the seed guest builds");
    let wasm = std::fs::read(wasm).expect("the seed module");
    let host = Host::new(Limits::default()).expect("a host");

    let pack_us = median_us(20, 15, || {
        host.make(&wasm, "closure_maker", &["3".into()]).expect("pack");
    });
    let bytes = host.make(&wasm, "closure_maker", &["3".into()]).expect("pack").to_bytes();
    let function = host.load(&bytes).expect("load");
    assert_eq!(function.call::<(i64,), i64>(&(4,)).unwrap(), 10);

    let load_us = median_us(200, 15, || {
        host.load(&bytes).expect("load");
    });
    let fresh_us = median_us(2000, 25, || {
        let r: i64 = function.call(&(4i64,)).expect("call");
        assert_eq!(r, 10);
    });
    let fresh_json_us = median_us(2000, 25, || {
        assert_eq!(function.call_json(&["4".into()]).expect("call"), "10");
    });
    let mut warm = function.warm();
    let warm_us = median_us(20_000, 25, || {
        let r: i64 = warm.call(&(4i64,)).expect("call");
        assert_eq!(r, 10);
    });
    let per_second_2 = throughput(&function, 2, Duration::from_secs(2));
    let per_second_1 = throughput(&function, 1, Duration::from_secs(2));
    let cp = cloudpickle();

    println!();
    println!("shipfn {} on the seed closure (closure_maker(3), called with 4)", env!("CARGO_PKG_VERSION"));
    println!();
    println!("| measure | shipfn | target | cloudpickle | shipfn / cloudpickle |");
    println!("|---|---:|---:|---:|---:|");
    let cp_loads = cp.as_ref().and_then(|c| c["loads_call_us"].as_f64());
    let cp_dumps = cp.as_ref().and_then(|c| c["dumps_us"].as_f64());
    let ratio = |ours: f64, theirs: Option<f64>| theirs.map_or("—".into(), |t| format!("{:.2}×", ours / t));
    let us = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:.2} µs"));
    println!(
        "| call on a fresh instance, module compiled (typed) | {fresh_us:.2} µs | ≤ 4 µs | {} (loads+call) | {} |",
        us(cp_loads),
        ratio(fresh_us, cp_loads)
    );
    println!("| call on a fresh instance (JSON in and out) | {fresh_json_us:.2} µs | | | |");
    println!("| call on a reused instance (typed) | {warm_us:.3} µs | ≤ 0.5 µs | | |");
    println!("| fresh-instance calls/s, 1 thread | {per_second_1:.0} | | | |");
    println!("| fresh-instance calls/s, 2 threads | {per_second_2:.0} | ≥ 200 000 | | |");
    println!("| load a package (verify + validate; module cached) | {load_us:.1} µs | | | |");
    println!(
        "| pack: run the maker in the sandbox + encode | {pack_us:.1} µs | | {} (dumps) | {} |",
        us(cp_dumps),
        ratio(pack_us, cp_dumps)
    );
    println!(
        "| package size | {} B | | {} B | |",
        bytes.len(),
        cp.as_ref().and_then(|c| c["payload_bytes"].as_u64()).map_or("—".into(), |b| b.to_string())
    );
    if let Some(c) = &cp {
        println!();
        println!(
            "cloudpickle {} with this machine's python3; shipfn's package carries its code (the whole module).",
            c["version"]
        );
    } else {
        println!();
        println!("cloudpickle was not measured: run scripts/bench.sh, which installs it.");
    }
}
