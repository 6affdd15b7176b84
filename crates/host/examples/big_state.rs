//! Packs and runs a closure that captures a large state (a `Vec<u8>` and a
//! `Vec<f64>`), and prints times and peak memory beside a native baseline:
//! postcard-encoding the same data, copying it once and decoding it.
//!
//! `cargo run --release -p shipfn-host --example big_state -- 100`
//! (each phase runs in its own process, so each peak is its own).

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use shipfn_build::{BuildOptions, Toolchain};
use shipfn_host::{Host, Limits};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// A host with room for a few instances of several hundred MiB.
fn big_host() -> shipfn_host::Result<Host> {
    Host::new(Limits::default().max_memory(4 << 30).max_instances(4))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let megabytes: usize = args.next().map_or(Ok(100), |a| a.parse())?;
    let file = repo().join("target/big_state.fnpkg");
    match args.next().as_deref() {
        None => {
            // Each phase runs in its own process and prints `ms rss_mib`;
            // three rounds of the three phases, and the median of each, so
            // that a slow minute of the machine weighs on all of them.
            let me = std::env::current_exe()?;
            let phases = ["baseline", "pack", "run"];
            let mut samples: Vec<Vec<(f64, f64)>> = vec![Vec::new(); phases.len()];
            for _round in 0..3 {
                for (phase, samples) in phases.iter().zip(&mut samples) {
                    let out = Command::new(&me).args([megabytes.to_string(), phase.to_string()]).output()?;
                    let text = String::from_utf8_lossy(&out.stdout);
                    let parsed: Vec<f64> = text.split_whitespace().filter_map(|w| w.parse().ok()).collect();
                    if !out.status.success() || parsed.len() != 2 {
                        return Err(format!("{phase} failed: {}{}", text, String::from_utf8_lossy(&out.stderr)).into());
                    }
                    samples.push((parsed[0], parsed[1]));
                }
            }
            let median = |mut v: Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let figures: Vec<(f64, f64)> = samples
                .into_iter()
                .map(|s| (median(s.iter().map(|x| x.0).collect()), median(s.iter().map(|x| x.1).collect())))
                .collect();
            let (base_ms, state_mib) = (figures[0].0, (megabytes << 20) as f64 / (1 << 20) as f64);
            println!("A closure capturing {megabytes} MiB (a Vec<u8> and a Vec<f64>); medians of three rounds:");
            println!();
            println!("| phase | time | / baseline (target ≤ 2×) | peak RSS | / state (target ≤ 3×) |");
            println!("|---|---:|---:|---:|---:|");
            let what = [
                "baseline: memcpy + postcard decode, native",
                "pack: run the maker, write the .fnpkg",
                "run: read, load, call once (`shipfn run`'s path)",
            ];
            for ((ms, rss), what) in figures.iter().zip(what) {
                println!("| {what} | {ms:.0} ms | {:.2}× | {rss:.0} MiB | {:.2}× |", ms / base_ms, rss / state_mib);
            }
        }
        Some("baseline") => {
            // The same data as the suite's `big_state` maker.
            let half = megabytes << 19;
            let bytes: Vec<u8> = vec![7; half];
            let floats: Vec<f64> = vec![0.5; half / 8];
            let encoded = postcard::to_allocvec(&(&bytes, &floats))?;
            drop((bytes, floats));
            let start = Instant::now();
            let copy = encoded.clone();
            let (b, f): (Vec<u8>, Vec<f64>) = postcard::from_bytes(&copy)?;
            let took = start.elapsed();
            assert_eq!(b.len() + f.len() * 8, megabytes << 20);
            println!("{:.1} {:.1}", took.as_secs_f64() * 1e3, peak_rss_mib());
        }
        Some("pack") => {
            let toolchain = Toolchain::detect()?;
            let options =
                BuildOptions { target_dir: Some(repo().join("target/guests")), quiet: true, ..Default::default() };
            let wasm = std::fs::read(shipfn_build::build(&repo().join("tests/guests/suite"), &toolchain, &options)?)?;
            let host = big_host()?;
            host.make(&wasm, "big_state", &["1".into()])?; // compile outside the timing
            // The previous round's file goes outside the timing too: truncating
            // it waits for the kernel to finish writing its 100 MiB back.
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
            let start = Instant::now();
            let package = host.make(&wasm, "big_state", &[megabytes.to_string()])?;
            package.write_to(&mut std::fs::File::create(&file)?, None)?;
            let took = start.elapsed();
            assert_eq!(package.state.len() >> 20, megabytes);
            println!("{:.1} {:.1}", took.as_secs_f64() * 1e3, peak_rss_mib());
        }
        Some("run") => {
            let host = big_host()?;
            // Compile the module outside the timing, as a service would have.
            host.catalog(&std::fs::read(repo().join("target/guests/wasm32-unknown-unknown/release/suite.wasm"))?)?;
            let start = Instant::now();
            let bytes = std::fs::read(&file)?;
            let function = host.load_package(shipfn_host::VerifiedPackage::from_vec(bytes)?)?;
            // One call, as `shipfn run` makes it.
            let result = function.call_json_once(&[])?;
            let took = start.elapsed();
            assert!(result.starts_with(&format!("[{},", megabytes << 20)), "{result}");
            println!("{:.1} {:.1}", took.as_secs_f64() * 1e3, peak_rss_mib());
        }
        Some(other) => return Err(format!("unknown phase {other}").into()),
    }
    Ok(())
}
