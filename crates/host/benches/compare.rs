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
use shipfn_host::{Form, Function, Host, Limits};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Time per call, in microseconds, of one batch of `batch` calls.
fn batch_us(batch: u32, f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..batch {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(batch)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Median time per call, in microseconds, of `rounds` batches of `batch`
/// calls, after one batch to warm up.
/// The pack-time analysis of globals on `wasm`, from the closure its maker
/// makes: (median µs, functions reachable, functions in all, module bytes).
fn analysis(host: &Host, wasm: &[u8], maker: &str, arg: &str) -> (f64, usize, usize, usize) {
    let m = host.make(wasm, maker, &[arg.into()]).expect("pack").manifest;
    let roots = [m.entry, m.trampoline];
    let (reachable, all) = shipfn_host::__analyze(wasm, &roots).expect("the analysis reads the module");
    let us = median_us(5, 11, || {
        shipfn_host::__analyze(wasm, &roots).expect("the analysis reads the module");
    });
    (us, reachable, all, wasm.len())
}

fn median_us(batch: u32, rounds: u32, mut f: impl FnMut()) -> f64 {
    batch_us(batch, &mut f);
    median((0..rounds).map(|_| batch_us(batch, &mut f)).collect())
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

/// Medians, in microseconds, of `a` and `b` measured in alternating batches,
/// so that a noisy stretch of time weighs on both alike.
fn interleaved_us(batch: u32, rounds: u32, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64) {
    batch_us(batch, &mut a);
    batch_us(batch, &mut b);
    let (xs, ys) = (0..rounds).map(|_| (batch_us(batch, &mut a), batch_us(batch, &mut b))).unzip();
    (median(xs), median(ys))
}

/// A fresh call of `function` beside wasmtime's own floor for a fresh
/// instance of its module: a store, a pooled instantiation (pre-resolved)
/// and its drop, with the pool settings the host uses, and no call.
fn fresh_and_floor_us(function: &Function) -> (f64, f64) {
    use wasmtime::{
        Config, Enabled, Engine, InstanceAllocationStrategy, Linker, Module, PoolingAllocationConfig, Store,
    };
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(128)
        .total_memories(128)
        .total_tables(128)
        .max_memory_size(1 << 30)
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(4 << 20)
        .table_keep_resident(4 << 10);
    let mut config = Config::new();
    config.epoch_interruption(true).allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).expect("an engine");
    let module =
        Module::new(&engine, function.package().module().expect("a full package")).expect("the module compiles");
    let pre = Linker::<()>::new(&engine).instantiate_pre(&module).expect("no imports");
    interleaved_us(
        2000,
        31,
        || {
            let r: i64 = function.call(&(4i64,)).expect("call");
            assert_eq!(r, 10);
        },
        || {
            let mut store = Store::new(&engine, ());
            store.set_epoch_deadline(1000);
            pre.instantiate(&mut store).expect("instantiate");
        },
    )
}

/// Fresh calls of the suite's `stack_user` closure that touch little memory,
/// in microseconds, before and after calls that touched 1.5 MiB of its
/// stack: a pool that kept those pages would reset them for every later call.
fn after_heavy_calls_us(toolchain: &Toolchain, options: &BuildOptions) -> (f64, f64) {
    let wasm = shipfn_build::build(&repo().join("tests/guests/suite"), toolchain, options).expect("the suite builds");
    let wasm = std::fs::read(wasm).expect("the suite module");
    let host = Host::new(Limits::default()).expect("a host");
    let package = host.make(&wasm, "stack_user", &[]).expect("pack stack_user").to_bytes();
    let function = host.load(&package).expect("load");
    let mut small = || {
        function.call::<(u32,), u64>(&(1,)).expect("call");
    };
    let before = median_us(2000, 11, &mut small);
    for _ in 0..200 {
        function.call::<(u32,), u64>(&(1500,)).expect("a deep call");
    }
    (before, median_us(2000, 11, small))
}

/// Median wall time, in milliseconds, of running the `shipfn` binary.
fn process_ms(shipfn: &Path, args: &[&str], runs: usize) -> Option<f64> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let out = Command::new(shipfn).args(args).output().ok()?;
        if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != "10" {
            eprintln!("shipfn {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
            return None;
        }
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    Some(samples[samples.len() / 2])
}

/// A target's mark in the table: met or missed, in this run.
fn met(ok: bool) -> String {
    if ok { " ✓".into() } else { " ✗ missed".into() }
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
    let options = BuildOptions { target_dir: Some(repo().join("target/guests")), quiet: true, ..Default::default() };
    let wasm =
        shipfn_build::build(&repo().join("examples/closure"), &toolchain, &options).expect("the seed guest builds");
    // As `shipfn pack` packs it: without custom sections.
    let wasm = std::fs::read(wasm).expect("the seed module");
    let wasm = shipfn_host::slim_module(&wasm, shipfn_host::Keep::Nothing).expect("the seed module parses");
    // The CLI first, as whole processes, while this process is still small.
    let seed = {
        let host = Host::builder().instances(shipfn_host::InstanceStrategy::OnDemand).build().expect("a host");
        host.make(&wasm, "closure_maker", &["3".into()]).expect("pack").to_bytes()
    };
    // The CLI as a whole process: `scripts/bench.sh` builds it first.
    let shipfn = std::env::var_os("SHIPFN_BIN").map_or_else(|| repo().join("target/release/shipfn"), PathBuf::from);
    let package = repo().join("target/bench/seed.fnpkg");
    let cache = repo().join("target/bench/cache");
    std::fs::create_dir_all(package.parent().unwrap()).expect("target/bench");
    std::fs::write(&package, &seed).expect("the seed package");
    let (package, cache) = (package.to_str().unwrap(), cache.to_str().unwrap());
    let run = |extra: &[&str], runs| {
        if !shipfn.exists() {
            return None;
        }
        process_ms(&shipfn, &[&["run", package, "--arg", "4"], extra].concat(), runs)
    };
    let _ = run(&["--cache-dir", cache], 1); // fill the cache
    let warm_run_ms = run(&["--cache-dir", cache], 31);
    let cold_run_ms = run(&["--no-cache"], 15);
    let cold_cranelift_ms = run(&["--no-cache", "--compiler", "cranelift"], 7);
    let host = Host::new(Limits::default()).expect("a host");

    let pack_us = median_us(20, 15, || {
        host.make(&wasm, "closure_maker", &["3".into()]).expect("pack").to_bytes();
    });
    let maker = host.maker(&wasm).expect("the seed module prepares");
    let pack_prepared_us = median_us(200, 15, || {
        maker.make("closure_maker", &["3".into()]).expect("pack").encode_as(Form::Thin, None);
    });
    let seed_analysis = analysis(&host, &wasm, "closure_maker", "3");
    let regex_wasm =
        shipfn_build::build(&repo().join("tests/guests/regex"), &toolchain, &options).expect("the regex guest builds");
    let regex_wasm = std::fs::read(regex_wasm).expect("the regex module");
    let regex_analysis = analysis(&host, &regex_wasm, "matcher", r#""^a+b$""#);
    let regex_maker = host.maker(&regex_wasm).expect("the regex module prepares");
    let regex_pack_us = median_us(50, 15, || {
        regex_maker.make("matcher", &[r#""^a+b$""#.into()]).expect("pack").encode_as(Form::Thin, None);
    });
    let bytes = host.make(&wasm, "closure_maker", &["3".into()]).expect("pack").to_bytes();
    let function = host.load(&bytes).expect("load");
    assert_eq!(function.call::<(i64,), i64>(&(4,)).unwrap(), 10);

    let load_us = median_us(200, 15, || {
        host.load(&bytes).expect("load");
    });
    // Receiving a new closure of a module the host has compiled: each thin
    // package is new (its own captured value), loaded and called once.
    let thin: Vec<Vec<u8>> = (0..15 * 200 + 200)
        .map(|i| host.make(&wasm, "closure_maker", &[i.to_string()]).expect("pack").encode_as(Form::Thin, None))
        .collect();
    let mut next_thin = thin.iter().enumerate();
    let thin_load_call_us = median_us(200, 15, || {
        let (i, bytes) = next_thin.next().expect("enough thin packages");
        let r: i64 = host.load(bytes).expect("load thin").call(&(4i64,)).expect("call");
        assert_eq!(r, 4 + i as i64 + 3);
    });
    let thin_len = thin[3].len();
    let (fresh_us, floor_us) = fresh_and_floor_us(&function);
    let fresh_json_us = median_us(2000, 25, || {
        assert_eq!(function.call_json(&["4".into()]).expect("call"), "10");
    });
    let mut warm = function.warm();
    let warm_us = median_us(20_000, 25, || {
        let r: i64 = warm.call(&(4i64,)).expect("call");
        assert_eq!(r, 10);
    });
    let (light_us, after_heavy_us) = after_heavy_calls_us(&toolchain, &options);
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
        "| call on a fresh instance, module compiled (typed) | {fresh_us:.2} µs | ≤ 4 µs{} | {} (loads+call) | {} |",
        met(fresh_us <= 4.0),
        us(cp_loads),
        ratio(fresh_us, cp_loads)
    );
    println!(
        "| wasmtime's floor: pooled instantiate + drop of the same module, no call | {floor_us:.2} µs | | | call / floor {:.2}× |",
        fresh_us / floor_us
    );
    println!("| call on a fresh instance (JSON in and out) | {fresh_json_us:.2} µs | | | |");
    println!("| call on a reused instance (typed) | {warm_us:.3} µs | ≤ 0.5 µs{} | | |", met(warm_us <= 0.5));
    println!(
        "| fresh call touching little memory, after 200 that touched 1.5 MiB (suite `stack_user`) | {after_heavy_us:.2} µs | | | before them {light_us:.2} µs: {:.2}× |",
        after_heavy_us / light_us
    );
    println!("| fresh-instance calls/s, 1 thread | {per_second_1:.0} | | | |");
    println!(
        "| fresh-instance calls/s, 2 threads | {per_second_2:.0} | ≥ 200 000{} | | |",
        met(per_second_2 >= 200_000.0)
    );
    println!("| load a package (verify + validate; module cached) | {load_us:.1} µs | | | |");
    println!(
        "| load + first call of a new thin package (module compiled) | {thin_load_call_us:.2} µs | ≤ 6 µs{} | {} (loads+call) | {} |",
        met(thin_load_call_us <= 6.0),
        us(cp_loads),
        ratio(thin_load_call_us, cp_loads)
    );
    println!(
        "| pack: hash and look up the module, run the maker in the sandbox, encode | {pack_us:.1} µs | | {} (dumps) | {} |",
        us(cp_dumps),
        ratio(pack_us, cp_dumps)
    );
    println!(
        "| pack from a prepared module (`host.maker`), thin | {pack_prepared_us:.1} µs | ≤ dumps{} | {} (dumps) | {} |",
        cp_dumps.map_or(String::new(), |d| met(pack_prepared_us <= d)),
        us(cp_dumps),
        ratio(pack_prepared_us, cp_dumps)
    );
    for (name, (us, reachable, all, size)) in [("seed", seed_analysis), ("regex guest", regex_analysis)] {
        println!(
            "| pack-time analysis of globals, {name} module ({} KB): read its code, follow it from the closure | {us:.0} µs | | | {reachable} of {all} functions reachable (every indirect call by type) |",
            size / 1000
        );
    }
    println!(
        "| pack from a prepared module, thin, a helper-read global (regex guest `matcher`) | {regex_pack_us:.1} µs | ≤ dumps{} | {} (dumps) | {} |",
        cp_dumps.map_or(String::new(), |d| met(regex_pack_us <= d)),
        us(cp_dumps),
        ratio(regex_pack_us, cp_dumps)
    );
    let ms = |v: Option<f64>| v.map_or("— (no target/release/shipfn)".into(), |v| format!("{v:.1} ms"));
    let within = |v: Option<f64>, limit: f64| v.map_or(String::new(), |v| met(v <= limit));
    println!(
        "| `shipfn run`, whole process, warm disk cache | {} | ≤ 10 ms{} | | |",
        ms(warm_run_ms),
        within(warm_run_ms, 10.0)
    );
    println!(
        "| `shipfn run`, whole process, compiling (Winch, the CLI default) | {} | ≤ 60 ms{} | | |",
        ms(cold_run_ms),
        within(cold_run_ms, 60.0)
    );
    println!("| `shipfn run --compiler cranelift`, compiling | {} | | | |", ms(cold_cranelift_ms));
    let cp_bytes = cp.as_ref().and_then(|c| c["payload_bytes"].as_u64());
    let bytes_ratio = |ours: usize| cp_bytes.map_or("—".into(), |t| format!("{:.2}×", ours as f64 / t as f64));
    let cp_bytes_text = cp_bytes.map_or("—".into(), |b| format!("{b} B"));
    println!(
        "| package size, full | {} B | ≤ 48 KB{} | {cp_bytes_text} | {} |",
        bytes.len(),
        met(bytes.len() <= 48_000),
        bytes_ratio(bytes.len())
    );
    println!(
        "| package size, thin | {thin_len} B | ≤ 400 B{} | {cp_bytes_text} | {} |",
        met(thin_len <= 400),
        bytes_ratio(thin_len)
    );
    let figures = serde_json::json!({
        "fresh_call_us": fresh_us,
        "floor_us": floor_us,
        "fresh_call_over_floor": fresh_us / floor_us,
        "fresh_call_json_us": fresh_json_us,
        "warm_call_us": warm_us,
        "light_call_us": light_us,
        "light_call_after_heavy_us": after_heavy_us,
        "calls_per_second_1_thread": per_second_1,
        "calls_per_second_2_threads": per_second_2,
        "load_us": load_us,
        "thin_load_call_us": thin_load_call_us,
        "pack_us": pack_us,
        "pack_prepared_thin_us": pack_prepared_us,
        "pack_prepared_over_cloudpickle": cp_dumps.map(|t| pack_prepared_us / t),
        "analysis_seed_us": seed_analysis.0,
        "analysis_regex_us": regex_analysis.0,
        "pack_prepared_regex_helper_global_us": regex_pack_us,
        "run_warm_cache_ms": warm_run_ms,
        "run_compiling_winch_ms": cold_run_ms,
        "run_compiling_cranelift_ms": cold_cranelift_ms,
        "package_bytes": bytes.len(),
        "thin_package_bytes": thin_len,
        "cloudpickle_loads_call_us": cp_loads,
        "cloudpickle_dumps_us": cp_dumps,
        "cloudpickle_bytes": cp_bytes,
        "fresh_call_over_cloudpickle": cp_loads.map(|t| fresh_us / t),
        "thin_load_call_over_cloudpickle": cp_loads.map(|t| thin_load_call_us / t),
        "pack_over_cloudpickle": cp_dumps.map(|t| pack_us / t),
        "thin_package_over_cloudpickle": cp_bytes.map(|t| thin_len as f64 / t as f64),
    });
    let json = repo().join("target/bench/compare.json");
    std::fs::write(&json, serde_json::to_string_pretty(&figures).expect("JSON")).expect("target/bench/compare.json");
    if let Some(c) = &cp {
        println!();
        println!(
            "cloudpickle {} with this machine's python3; a full shipfn package carries its code (the whole module), a thin one names it.",
            c["version"]
        );
    } else {
        println!();
        println!("cloudpickle was not measured: run scripts/bench.sh, which installs it.");
    }
}
