//! `shipfn worker`: run the tasks of a NATS JetStream server's queue.

use std::time::Duration;

use anyhow::Context;
use shipfn_cluster::{NatsConfig, Worker, WorkerMetrics};

use super::{HostArgs, NatsAuthArgs, TrustArgs, parse_duration, parse_size, read_secret_key};

/// Join a pool of workers: take tasks that `shipfn map --nats` submitted to
/// a NATS JetStream server, run them in this machine's sandbox under this
/// worker's own limits and trusted keys, and send the results back. Runs
/// until interrupted (Ctrl-C or SIGTERM), then finishes the tasks it holds.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The NATS server, e.g. nats://127.0.0.1:4222 (JetStream enabled), or
    /// several servers of a cluster, comma-separated. A user and password
    /// (or a token) may be written in the URL: nats://user:password@host:4222.
    #[arg(long, value_name = "URL", env = "NATS_URL", hide_env_values = true)]
    nats: String,
    #[command(flatten)]
    nats_auth: NatsAuthArgs,
    /// How messages on standard error are written: text, or json (one
    /// object per line, for a log collector).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Tasks at a time [default: the number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// How long a task may go without an ack before it is given to another
    /// worker (a running task sends progress acks, so this bounds how long a
    /// dead worker's tasks wait, not how long a task may run).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    ack_wait: Duration,
    /// How many times a task is delivered before its inputs are reported
    /// as failed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(i64).range(1..=1000))]
    max_deliver: i64,
    /// Sign every result with this secret key (from `shipfn keygen`), so
    /// that `shipfn map --trust-worker KEY.pub` can tell this worker's
    /// results from anyone else's.
    #[arg(long, value_name = "FILE")]
    key: Option<std::path::PathBuf>,
    /// Bytes of loaded packages (their captured states) to keep between
    /// tasks; the least recently used go first.
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    package_cache: u64,
    /// Bytes of compiled modules to keep in memory between tasks (they are
    /// also kept on disk unless --no-cache); the least recently used go first.
    #[arg(long, value_name = "SIZE", default_value = "512MiB", value_parser = parse_size)]
    module_cache: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics and a health check
    /// at /healthz (200 while connected to the server, else 503), e.g.
    /// 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    host: HostArgs,
}

pub fn main(args: Args) -> anyhow::Result<()> {
    if args.log_format == "json" {
        crate::out::log_json();
    }
    let keys = args.trust.keys()?;
    let host = args.host.pooled_host_keeping(usize::try_from(args.module_cache).unwrap_or(usize::MAX))?;
    let config =
        args.nats_auth.apply(NatsConfig::new(args.nats.clone()).ack_wait(args.ack_wait).max_deliver(args.max_deliver));
    let shown = config.url.clone();
    let mut worker = Worker::new(host, config)
        .on_ready(move || crate::out::note(&format!("worker: taking tasks from {shown}; stop with Ctrl-C")))
        .trust(keys)
        .keep_package_bytes(usize::try_from(args.package_cache).unwrap_or(usize::MAX));
    if let Some(path) = &args.key {
        worker = worker.sign_with(read_secret_key(path)?);
    }
    if let Some(jobs) = args.jobs {
        worker = worker.jobs(usize::from(jobs));
    }
    // One thread for the messages: calls of all but the shortest tasks run
    // on blocking threads, and every cross-thread wake-up per task costs
    // more than such a task's calls.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    if let Some(addr) = args.metrics {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(addr))
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        runtime.spawn(serve_metrics(listener, worker.metrics()));
    }
    match runtime.block_on(worker.run(stop_signal()))? {
        shipfn_cluster::Ended::LameDuck => {
            crate::out::note("worker: the server entered lame duck mode; finished the tasks held, stopped")
        }
        _ => crate::out::note("worker: stopped"),
    }
    Ok(())
}

/// Serves `/metrics` (OpenMetrics text) and `/healthz`.
async fn serve_metrics(listener: tokio::net::TcpListener, metrics: WorkerMetrics) {
    use axum::http::{StatusCode, header};
    use axum::routing::get;
    let scraped = metrics.clone();
    let router =
        axum::Router::new()
            .route(
                "/metrics",
                get(move || {
                    let text = scraped.encode();
                    async move {
                        ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
                    }
                }),
            )
            .route(
                "/healthz",
                get(move || {
                    let connected = metrics.is_connected();
                    async move {
                        if connected {
                            (StatusCode::OK, "ok\n")
                        } else {
                            (StatusCode::SERVICE_UNAVAILABLE, "not connected to the NATS server\n")
                        }
                    }
                }),
            );
    if let Err(e) = axum::serve(listener, router).await {
        crate::out::note(&format!("worker: the metrics server stopped: {e}"));
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
