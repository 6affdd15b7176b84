//! A bounded load run against a running shipfn-service: uploads a package,
//! sends a fixed number of calls from a fixed number of threads, and prints
//! requests/s with p50 and p99 latency.
//!
//! `loadgen URL PACKAGE [--requests N] [--threads T] [--arg JSON]…`

use std::time::{Duration, Instant};

use clap::Parser;

/// Load a shipfn-service with calls of one package.
#[derive(Parser, Debug)]
struct Args {
    /// The service, e.g. http://127.0.0.1:8080
    url: String,
    /// The .fnpkg to upload and call.
    package: std::path::PathBuf,
    /// Calls in all.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    threads: usize,
    /// Arguments, as JSON.
    #[arg(long = "arg", allow_hyphen_values = true)]
    args: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let agent = ureq::Agent::new_with_defaults();
    let bytes = std::fs::read(&args.package)?;
    let uploaded: serde_json::Value =
        agent.put(format!("{}/packages", args.url)).send(&bytes[..])?.body_mut().read_json()?;
    let id = uploaded["id"].as_str().ok_or_else(|| anyhow::anyhow!("no id in {uploaded}"))?.to_owned();
    let call_args: Vec<serde_json::Value> =
        args.args.iter().map(|a| serde_json::from_str(a)).collect::<Result<_, _>>()?;
    let body = serde_json::json!({ "args": call_args }).to_string();
    let url = format!("{}/packages/{id}/call", args.url);

    let per_thread = args.requests / args.threads;
    let start = Instant::now();
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.threads)
            .map(|_| {
                let (agent, url, body) = (agent.clone(), &url, &body);
                s.spawn(move || {
                    (0..per_thread)
                        .map(|_| {
                            let t = Instant::now();
                            let mut response = agent
                                .post(url)
                                .header("content-type", "application/json")
                                .send(body.as_bytes())
                                .expect("call");
                            let _ = response.body_mut().read_to_string().expect("body");
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("client thread")).collect()
    });
    let elapsed = start.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{} calls from {} threads in {:.2} s: {:.0} requests/s, p50 {:.0} µs, p99 {:.0} µs",
        latencies.len(),
        args.threads,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
    );
    Ok(())
}
