//! `shipfn map`: run a closure over many inputs, on this machine's cores or
//! on the workers of a NATS JetStream server, with one output line per input.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use shipfn_cluster::{Inputs, Local, Nats, NatsConfig, Outcome, Pool};
use shipfn_host::{DirModuleStore, ErrorKind, VerifiedPackage};

use super::{HostArgs, NatsAuthArgs, TrustArgs, human_size, read, read_public_keys, write_atomically};
use crate::exit::Failed;

/// Run a package's closure once per input line, in parallel, and write one
/// result line per input, in input order.
///
/// Each input line is a JSON array of the closure's arguments (`[4]`,
/// `[1, "x"]`, `[]`). Each output line is `{"ok": RESULT}` or
/// `{"error": {"kind": KIND, "message": TEXT}}`, KIND one of bad_package,
/// untrusted, bad_args, guest_error, trap, timeout, resource_limit, internal.
/// A failed input does not stop the others. The exit code is 0 if every
/// input succeeded, else that of `shipfn run` for the first failure.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .fnpkg file.
    #[arg(value_name = "PACKAGE")]
    package: PathBuf,
    /// The inputs: JSON lines, one array of arguments per line (`-` for
    /// standard input).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Write the results to FILE (replaced when the map is done) instead of
    /// standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Calls at a time on this machine [default: the number of cores].
    #[arg(long, value_name = "N", conflicts_with = "nats", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Run on the workers of this NATS JetStream server (`shipfn worker`)
    /// instead of this machine; `--nats` alone takes the URL from $NATS_URL.
    /// The workers' own limits and trusted keys apply; the limit options
    /// below are then ignored. Several servers of a cluster are
    /// comma-separated. A user and password (or a token) may be written in
    /// the URL: nats://user:password@host:4222.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    nats: Option<String>,
    #[command(flatten)]
    nats_auth: NatsAuthArgs,
    /// With --nats: accept only results signed by this worker key (a .pub
    /// file from `shipfn keygen`; workers sign with `shipfn worker --key`).
    /// Repeat to trust several. Without it, any client of the server that
    /// can read a task can answer it.
    #[arg(long = "trust-worker", value_name = "KEY.pub", requires = "nats")]
    trust_worker: Vec<PathBuf>,
    /// With --nats: inputs per task message.
    #[arg(long, value_name = "N", default_value_t = 100, requires = "nats", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch: u32,
    /// Stop at the first input that fails (its line is the last written).
    #[arg(long)]
    fail_fast: bool,
    /// No progress bar and no summary on standard error.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    host: HostArgs,
}

pub fn main(args: Args) -> anyhow::Result<()> {
    let package = read(&args.package)?;
    let keys = args.trust.keys()?;
    let place = match &args.nats {
        None => {
            let mut local = Local::new(args.host.pooled_host()?).trust(keys);
            if let Some(jobs) = args.jobs {
                local = local.jobs(usize::from(jobs));
            }
            Place::Local(local)
        }
        Some(url) => {
            let url = if url.is_empty() {
                std::env::var("NATS_URL").map_err(|_| {
                    crate::exit::Usage("--nats without a URL takes it from NATS_URL, which is not set".into())
                })?
            } else {
                url.clone()
            };
            // The workers check trust themselves; checking here too saves
            // shipping a package that none of them would run.
            if !keys.is_empty() {
                let verified = VerifiedPackage::from_bytes(&package)?;
                if !verified.signer().is_some_and(|signer| keys.contains(signer)) {
                    anyhow::bail!(shipfn_host::Error::Untrusted(
                        "the package is not signed by a key given with --trust".into()
                    ));
                }
            }
            let workers = read_public_keys(&args.trust_worker)?;
            if workers.is_empty() {
                crate::out::note(
                    "map: no --trust-worker key: results are taken from any client of the server that reads a \
                     task (fine where only your workers may publish to shipfn.results.>)",
                );
            }
            let config = args.nats_auth.apply(NatsConfig::new(url).batch(args.batch as usize));
            let shown = config.url.clone();
            let mut nats =
                Nats::new(config).trust_workers(workers).on_idle(|notice| crate::out::note(&format!("map: {notice}")));
            if let Some(store) = args.host.module_dir().and_then(|dir| DirModuleStore::open(dir).ok()) {
                nats = nats.module_store(Arc::new(store));
            }
            Place::Nats(Box::new(nats), shown)
        }
    };
    let input = InputLines::open(&args.input)?;
    let total = if args.quiet || !std::io::stderr().is_terminal() { None } else { count_lines(&args.input) };
    let read_error = input.error.clone();
    let started = Instant::now();
    let outcomes = place.pool().map(package, Box::new(input) as Inputs)?;
    let progress = Progress::new(total, args.quiet);
    let mut tally = Tally::default();
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        for outcome in outcomes {
            let line = shipfn_cluster::line(&outcome);
            writeln!(out, "{}", crate::out::escape_json(&line))?;
            tally.add(&outcome);
            progress.update(&tally);
            if args.fail_fast && outcome.is_err() {
                break;
            }
        }
        out.flush()
    };
    match &args.output {
        Some(path) => write_atomically(path, 0o644, |file| write(&mut std::io::BufWriter::new(file)))?,
        None => {
            write(&mut std::io::BufWriter::new(std::io::stdout().lock())).context("cannot write to standard output")?
        }
    }
    progress.finish();
    if let Some(error) = read_error.lock().ok().and_then(|mut e| e.take()) {
        return Err(error).context(format!("cannot read {}", args.input.display()));
    }
    if !args.quiet {
        let elapsed = started.elapsed();
        let rate = tally.inputs as f64 / elapsed.as_secs_f64().max(1e-9);
        crate::out::note(&format!(
            "map: {} inputs, {} ok, {} failed in {:.2} s ({rate:.0} inputs/s) {}",
            tally.inputs,
            tally.inputs - tally.failed,
            tally.failed,
            elapsed.as_secs_f64(),
            place.describe(),
        ));
    }
    match tally.first {
        None => Ok(()),
        Some((index, kind, message)) => Err(Failed {
            kind,
            message: format!(
                "{} of {} inputs failed; the first, input {index}: {kind}: {message}",
                tally.failed, tally.inputs
            ),
        }
        .into()),
    }
}

/// Where the map runs.
enum Place {
    Local(Local),
    Nats(Box<Nats>, String),
}

impl Place {
    fn pool(&self) -> &dyn Pool {
        match self {
            Place::Local(local) => local,
            Place::Nats(nats, _) => nats.as_ref(),
        }
    }

    /// Where it ran and, for NATS, what it shipped.
    fn describe(&self) -> String {
        match self {
            Place::Local(local) => format!("on {} threads", local.job_count()),
            Place::Nats(nats, url) => {
                let stats = nats.stats();
                format!(
                    "via {url}; uploaded {} to the object store, {} tasks of {} inputs{}{}{}",
                    human_size(stats.uploaded_bytes),
                    stats.tasks,
                    human_size(stats.task_bytes),
                    match stats.redelivered {
                        0 => String::new(),
                        n => format!(", {n} run again after their first worker was lost"),
                    },
                    match stats.given_up {
                        0 => String::new(),
                        n => format!(", {n} given up after their delivery limit"),
                    },
                    match (stats.ignored, nats.trusts_only_signed_results()) {
                        (0, _) => String::new(),
                        (n, true) => format!(
                            "; ignored {n} result messages not bound to their task or not signed by a trusted worker"
                        ),
                        (n, false) => format!("; ignored {n} result messages not bound to their task"),
                    }
                )
            }
        }
    }
}

/// Counts of what came out, and the first failure (1-based input number).
#[derive(Default)]
struct Tally {
    inputs: u64,
    failed: u64,
    first: Option<(u64, ErrorKind, String)>,
}

impl Tally {
    fn add(&mut self, outcome: &Outcome) {
        self.inputs += 1;
        if let Err(failure) = outcome {
            self.failed += 1;
            if self.first.is_none() {
                self.first = Some((self.inputs, failure.kind, failure.message.clone()));
            }
        }
    }
}

/// A progress bar on standard error when it is a terminal.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(total: Option<u64>, quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let (bar, template) = match total {
            Some(total) => (
                indicatif::ProgressBar::new(total),
                "{bar:30} {human_pos}/{human_len} inputs · {per_sec} · ETA {eta} {msg}",
            ),
            None => (indicatif::ProgressBar::new_spinner(), "{spinner} {human_pos} inputs · {per_sec} {msg}"),
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }

    fn update(&self, tally: &Tally) {
        if let Some(bar) = &self.0 {
            bar.set_position(tally.inputs);
            if tally.failed > 0 {
                bar.set_message(format!("· {} failed", tally.failed));
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// The lines of the input, without their line ends. A read error (or a line
/// that is not UTF-8) ends them, and is kept for the command to report.
struct InputLines {
    reader: Box<dyn BufRead + Send>,
    line: u64,
    error: Arc<Mutex<Option<std::io::Error>>>,
}

impl InputLines {
    fn open(path: &Path) -> anyhow::Result<InputLines> {
        let reader: Box<dyn BufRead + Send> = if path == Path::new("-") {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            Box::new(BufReader::with_capacity(256 << 10, file))
        };
        Ok(InputLines { reader, line: 0, error: Arc::default() })
    }
}

impl Iterator for InputLines {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let mut bytes = Vec::new();
        match self.reader.read_until(b'\n', &mut bytes) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => {
                *self.error.lock().ok()? = Some(e);
                return None;
            }
        }
        self.line += 1;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        match String::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(_) => {
                let why = format!("line {} is not UTF-8", self.line);
                *self.error.lock().ok()? = Some(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
                None
            }
        }
    }
}

/// The number of lines in a regular file, for the progress bar's total.
fn count_lines(path: &Path) -> Option<u64> {
    if path == Path::new("-") {
        return None;
    }
    let mut file = std::fs::File::open(path).ok()?;
    let (mut buffer, mut lines, mut last) = (vec![0u8; 1 << 20], 0u64, b'\n');
    loop {
        let n = file.read(&mut buffer).ok()?;
        if n == 0 {
            break;
        }
        lines += buffer[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buffer[n - 1];
    }
    Some(lines + u64::from(last != b'\n'))
}
