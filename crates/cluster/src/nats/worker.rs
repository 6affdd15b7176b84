//! The working side: pull tasks, run them on this machine's host under its
//! own limits and trust, publish the results, ack.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, object_store};
use bytes::Bytes;
use futures_util::StreamExt;
use shipfn_host::{ErrorKind, Function, Host, PublicKey, SecretKey, VerifiedPackage, sha256};
use tokio::sync::Semaphore;

use super::NatsConfig;
use super::metrics::WorkerMetrics;
use super::proof::{self, Part};
use super::submit::header_u64;
use super::wire::{self, Setup, Side};
use crate::outcome::{call, line};
use crate::pace::Pace;
use crate::{Error, Failure, Outcome, Result};

/// Bytes of packages a worker keeps loaded, unless told otherwise: their
/// captured states live in memory beside the compiled modules.
const KEEP_PACKAGE_BYTES: usize = 256 << 20;

/// Runs the tasks of a NATS JetStream server's task queue with a host of
/// this machine. The worker's limits and trusted keys are its own: a task
/// cannot change them, and a package the worker does not trust is answered
/// with an `untrusted` failure for each of its inputs.
pub struct Worker {
    config: NatsConfig,
    host: Host,
    trusted: Vec<PublicKey>,
    key: Option<Arc<SecretKey>>,
    jobs: usize,
    keep_bytes: usize,
    on_ready: Option<Box<dyn FnOnce() + Send>>,
    metrics: WorkerMetrics,
}

impl Worker {
    /// A worker that runs tasks on `host`, one per core at a time.
    pub fn new(host: Host, config: NatsConfig) -> Worker {
        let jobs = std::thread::available_parallelism().map_or(1, usize::from);
        Worker {
            config,
            host,
            trusted: Vec::new(),
            key: None,
            jobs,
            keep_bytes: KEEP_PACKAGE_BYTES,
            on_ready: None,
            metrics: WorkerMetrics::default(),
        }
    }

    /// The worker's metrics, to serve while it runs.
    pub fn metrics(&self) -> WorkerMetrics {
        self.metrics.clone()
    }

    /// Calls `ready` once the worker is connected and the server set up,
    /// just before it takes its first task.
    pub fn on_ready(mut self, ready: impl FnOnce() + Send + 'static) -> Worker {
        self.on_ready = Some(Box::new(ready));
        self
    }

    /// Signs every result with `key`, so that a submitter that trusts its
    /// public half ([`Nats::trust_workers`](super::Nats::trust_workers))
    /// can tell this worker's results from anyone else's.
    pub fn sign_with(mut self, key: SecretKey) -> Worker {
        self.key = Some(Arc::new(key));
        self
    }

    /// Keeps at most `bytes` of packages loaded (default 256 MiB); the
    /// least recently used go first. A package larger than this is loaded
    /// for its task and not kept.
    pub fn keep_package_bytes(mut self, bytes: usize) -> Worker {
        self.keep_bytes = bytes;
        self
    }

    /// Runs `jobs` tasks at a time (at least one).
    pub fn jobs(mut self, jobs: usize) -> Worker {
        self.jobs = jobs.max(1);
        self
    }

    /// Runs only packages signed by one of `keys` (none: any package).
    pub fn trust(mut self, keys: Vec<PublicKey>) -> Worker {
        self.trusted = keys;
        self
    }

    /// Works until `stop` completes, then finishes the tasks it holds.
    ///
    /// A task runs on one of tokio's blocking threads, unless the package's
    /// calls so far say that it takes under 300 µs: then it runs on the
    /// thread that polls this future, since a hand-over would cost more than
    /// the calls. A current-thread runtime is enough, and the cheapest.
    ///
    /// # Errors
    ///
    /// The server cannot be reached, or refuses to set up the streams.
    /// Losing the server later is not an error: the worker reconnects.
    pub async fn run(mut self, stop: impl Future<Output = ()>) -> Result<Ended> {
        // A lost connection loses the pull requests it carried: pull anew as
        // soon as it is back, rather than waiting for missed heartbeats. (A
        // message whose header block the client cannot parse drops the
        // connection on every delivery, until the consumer's delivery limit.)
        let events = wire::Events::default();
        let reconnected = events.connected.clone();
        let lame_duck = events.lame_duck.clone();
        let (client, violations) = wire::connect(&self.config, "shipfn worker", Some(events)).await?;
        // A server about to shut down is left as on a stop, not on its last
        // connection's close: the tasks held are finished while it still serves.
        let ended = std::sync::OnceLock::new();
        let stop = async {
            tokio::select! {
                () = stop => {}
                () = lame_duck.notified() => {
                    let _ = ended.set(Ended::LameDuck);
                }
            }
        };
        // The first connection is not a reconnection.
        let _ = tokio::time::timeout(Duration::from_millis(50), reconnected.notified()).await;
        let max_payload = client.server_info().max_payload;
        self.metrics.watch(client.clone());
        let js = jetstream::new(client);
        let Setup { mut consumer, bucket, .. } = Setup::ensure(&js, &self.config, Side::Worker, &violations).await?;
        let shared = Arc::new(Shared {
            js: js.clone(),
            namespace: self.config.namespace.clone(),
            packages: Packages {
                bucket,
                host: self.host,
                trusted: self.trusted,
                loaded: Mutex::new(Kept::new(self.keep_bytes)),
                metrics: self.metrics.clone(),
            },
            metrics: self.metrics.clone(),
            ack_wait: self.config.ack_wait,
            key: self.key,
            max_part: wire::max_part(max_payload),
        });
        let mut failed_pulls = 0u32;
        if let Some(ready) = self.on_ready.take() {
            ready();
        }
        let slots = Arc::new(Semaphore::new(self.jobs));
        let mut tasks = tokio::task::JoinSet::new();
        tokio::pin!(stop);
        // A request the server refuses only times out: stop at its report.
        let refused = violations.next_report();
        tokio::pin!(refused);
        // One continuous pull: the client keeps requests outstanding, a few
        // tasks ahead of the free slots, and renews them after a reconnect.
        'work: loop {
            let stream =
                consumer.stream().max_messages_per_batch(self.jobs * 2).expires(Duration::from_secs(5)).messages();
            let mut messages = match stream.await {
                Ok(messages) => {
                    failed_pulls = 0;
                    messages
                }
                Err(_) => {
                    // The server is away (the client reconnects), or the
                    // task consumer was deleted: set it up again.
                    failed_pulls += 1;
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                        () = &mut refused => return Err(violations.refusal(&self.config.url, "taking tasks")),
                    }
                    if failed_pulls >= 2
                        && let Ok(setup) = Setup::ensure(&js, &self.config, Side::Worker, &violations).await
                    {
                        consumer = setup.consumer;
                    }
                    continue;
                }
            };
            loop {
                let message = tokio::select! {
                    () = &mut stop => break 'work,
                    () = &mut refused => return Err(violations.refusal(&self.config.url, "taking tasks")),
                    () = reconnected.notified() => break,
                    message = messages.next() => message,
                };
                let message = match message {
                    Some(Ok(message)) => message,
                    // A missed heartbeat or a lost connection: pull anew.
                    Some(Err(_)) | None => break,
                };
                let slot = tokio::select! {
                    () = &mut stop => break 'work,
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                };
                let shared = shared.clone();
                tasks.spawn(async move { shared.handle(message, slot).await });
                while tasks.try_join_next().is_some() {}
            }
        }
        // Finish what was taken: run, publish and ack every task held.
        while tasks.join_next().await.is_some() {}
        Ok(ended.get().copied().unwrap_or(Ended::Stopped))
    }
}

/// Why a worker stopped taking tasks (it finished those it held either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// Its stop future completed (a signal, for the CLI).
    Stopped,
    /// Its server entered lame duck mode, about to shut down.
    LameDuck,
}

/// What the tasks of one worker share.
struct Shared {
    js: jetstream::Context,
    namespace: super::Namespace,
    packages: Packages,
    ack_wait: Duration,
    key: Option<Arc<SecretKey>>,
    /// The largest result payload one message carries.
    max_part: usize,
    metrics: WorkerMetrics,
}

impl Shared {
    /// Runs one task in `slot`, then (the slot given back for the next
    /// task) publishes its result and acks it. A task whose result cannot
    /// be published is not acked, so it is delivered again.
    ///
    /// A task that cannot be run whatever the worker (it names no package,
    /// or one that is not there or not valid) is answered with an error
    /// per input and terminated, never delivered again; one that cannot
    /// even be read is terminated.
    async fn handle(&self, message: jetstream::Message, slot: tokio::sync::OwnedSemaphorePermit) {
        let Some(Task { job, batch, package, lines }) =
            read_task(&self.namespace, message.subject.as_str(), message.headers.as_ref(), &message.payload)
        else {
            // Not a task of ours: drop it from the queue for good.
            let _ = message.ack_with(AckKind::Term).await;
            return;
        };
        let delivered = message.info().ok().map(|i| i.delivered);
        self.metrics.task_started(delivered);
        let started = Instant::now();
        // Whether the task can never run, on any worker.
        let work = async {
            let function = match &package {
                Some(name) => self.packages.function(name).await,
                None => Err(Failure::new(ErrorKind::BadPackage, "the task names no package")),
            };
            let count = lines.len();
            match function {
                // Short work runs here: handing it to a blocking thread and
                // back costs more than such calls (two wake-ups: about
                // 60 µs of CPU a task on a 2-core machine).
                Ok(loaded) if loaded.is_short(count) => (loaded.run(&lines), false),
                Ok(loaded) => (
                    tokio::task::spawn_blocking(move || loaded.run(&lines))
                        .await
                        .unwrap_or_else(|_| vec![Err(Failure::new(ErrorKind::Internal, "the worker panicked")); count]),
                    false,
                ),
                Err(failure) => {
                    let poison = failure.kind == ErrorKind::BadPackage;
                    (vec![Err(failure); count], poison)
                }
            }
        };
        // Progress acks keep a long task from going to another worker.
        tokio::pin!(work);
        // The first tick a period from now: an interval's immediate first
        // tick still waits for the timer driver, up to a millisecond.
        let period = (self.ack_wait / 3).max(Duration::from_millis(100));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let (outcomes, poison) = loop {
            tokio::select! {
                done = &mut work => break done,
                _ = ticks.tick() => { let _ = message.ack_with(AckKind::Progress).await; }
            }
        };
        drop(slot);
        self.metrics.task_done(&outcomes, started.elapsed());
        let task = proof::task_digest(&job, batch, package.as_deref().unwrap_or(""), &message.payload);
        let published = self.publish(&job, batch, task, &outcomes, delivered).await;
        // A plain ack: the result is stored, so an ack the server never
        // sees only means a redelivery, whose result the submitter does
        // not need. Waiting for the server to confirm would cost a round
        // trip and a subscription per task.
        match (published, poison) {
            (true, false) => drop(message.ack().await),
            (true, true) => drop(message.ack_with(AckKind::Term).await),
            (false, _) => {}
        }
    }

    /// Publishes the result of task `batch` of `job`, in parts of at most
    /// `max_part` bytes, each bound to the task and signed if the worker
    /// has a key; whether every part was stored.
    async fn publish(
        &self,
        job: &str,
        batch: u64,
        task: shipfn_host::Hash,
        outcomes: &[Outcome],
        delivered: Option<i64>,
    ) -> bool {
        let body: Vec<String> = outcomes.iter().map(line).collect();
        let payload = Bytes::from(body.join("\n"));
        let chunks: Vec<Bytes> = if payload.is_empty() {
            vec![payload.clone()]
        } else {
            (0..payload.len())
                .step_by(self.max_part)
                .map(|at| payload.slice(at..(at + self.max_part).min(payload.len())))
                .collect()
        };
        let Ok(parts) = u32::try_from(chunks.len()) else { return false };
        let run = run_id();
        let subject = format!("{}{job}", self.namespace.result_prefix());
        for (index, chunk) in chunks.into_iter().enumerate() {
            let part = Part { task, run, index: index as u32, parts, count: body.len() as u64 };
            let mut headers = HeaderMap::new();
            headers.insert(wire::BATCH, batch.to_string().as_str());
            headers.insert(wire::COUNT, body.len().to_string().as_str());
            if let Some(delivered) = delivered {
                headers.insert(wire::DELIVERY, delivered.to_string().as_str());
            }
            part.write_headers(&mut headers, job, batch, &chunk, self.key.as_deref());
            let published = wire::retry(self.ack_wait, || async {
                self.js.publish_with_headers(subject.clone(), headers.clone(), chunk.clone()).await?.await
            })
            .await;
            if published.is_err() {
                return false;
            }
        }
        true
    }
}

/// A random run id: parts of two runs of one task are never joined.
fn run_id() -> u64 {
    let mut bytes = [0; 8];
    getrandom::fill(&mut bytes).expect("the system's random source");
    u64::from_le_bytes(bytes)
}

/// A task message, read.
pub(crate) struct Task {
    pub job: String,
    pub batch: u64,
    /// The package object it names, if any.
    pub package: Option<String>,
    /// Its input lines.
    pub lines: Vec<String>,
}

/// Reads a task message: `None` unless its subject names a job and it has
/// a batch number, the least a result can be addressed with.
pub(crate) fn read_task(
    namespace: &super::Namespace,
    subject: &str,
    headers: Option<&HeaderMap>,
    payload: &[u8],
) -> Option<Task> {
    let job = subject.strip_prefix(namespace.task_prefix())?;
    let batch = header_u64(headers, wire::BATCH)?;
    if !wire::valid_job(job) {
        return None;
    }
    let package = headers.and_then(|h| h.get(wire::PACKAGE)).map(|v| v.as_str().to_owned());
    let lines = String::from_utf8_lossy(payload).split('\n').map(str::to_owned).collect();
    Some(Task { job: job.to_owned(), batch, package, lines })
}

/// How long a task may take to run on the worker's message thread instead
/// of a blocking thread, judged from the package's calls so far.
const INLINE_BUDGET: Duration = Duration::from_micros(300);

/// A loaded package and what its calls have cost on this worker.
#[derive(Clone)]
struct Loaded {
    function: Function,
    pace: Arc<Pace>,
}

impl Loaded {
    fn new(function: Function) -> Loaded {
        Loaded { function, pace: Arc::default() }
    }

    /// Whether `inputs` calls are expected to fit in [`INLINE_BUDGET`]. A
    /// package's first task runs on a blocking thread, as does a task after
    /// calls that were slow.
    fn is_short(&self, inputs: usize) -> bool {
        self.pace.estimate(inputs).is_some_and(|time| time <= INLINE_BUDGET)
    }

    /// Calls the function once per input line, timing the calls.
    fn run(&self, lines: &[String]) -> Vec<Outcome> {
        let start = Instant::now();
        let outcomes = lines.iter().map(|input| call(&self.function, input)).collect();
        self.pace.record(start.elapsed(), lines.len());
        outcomes
    }
}

/// The packages this worker has loaded, by object name.
struct Packages {
    bucket: object_store::ObjectStore,
    host: Host,
    trusted: Vec<PublicKey>,
    loaded: Mutex<Kept>,
    metrics: WorkerMetrics,
}

/// Loaded packages, and packages known to be bad, within a byte budget.
/// Only what the package's bytes decide is kept: a package that is missing,
/// does not match its name, or could not be fetched is asked for again next
/// time, since a later upload may put it right.
struct Kept {
    budget: usize,
    bytes: usize,
    tick: u64,
    entries: HashMap<String, KeptEntry>,
}

struct KeptEntry {
    loaded: Result<Loaded, Failure>,
    bytes: usize,
    used: u64,
}

impl Kept {
    fn new(budget: usize) -> Kept {
        Kept { budget, bytes: 0, tick: 0, entries: HashMap::new() }
    }

    fn get(&mut self, name: &str) -> Option<Result<Loaded, Failure>> {
        self.tick += 1;
        let entry = self.entries.get_mut(name)?;
        entry.used = self.tick;
        Some(entry.loaded.clone())
    }

    /// Keeps `loaded` (whose package has `bytes` bytes), dropping the least
    /// recently used entries to stay within the budget.
    fn insert(&mut self, name: &str, loaded: Result<Loaded, Failure>, bytes: usize) {
        if bytes > self.budget {
            return;
        }
        while self.bytes + bytes > self.budget {
            let Some(oldest) = self.entries.iter().min_by_key(|(_, e)| e.used).map(|(n, _)| n.clone()) else { break };
            if let Some(entry) = self.entries.remove(&oldest) {
                self.bytes -= entry.bytes;
            }
        }
        self.tick += 1;
        self.bytes += bytes;
        if let Some(old) = self.entries.insert(name.to_owned(), KeptEntry { loaded, bytes, used: self.tick }) {
            self.bytes -= old.bytes;
        }
    }
}

impl Packages {
    /// The function in package object `name`, loaded once.
    async fn function(&self, name: &str) -> Result<Loaded, Failure> {
        if let Some(loaded) = self.loaded.lock().expect("package lock").get(name) {
            return loaded;
        }
        let loaded = self.load(name).await;
        self.metrics.modules_compiled(self.host.module_counts().compiled);
        let (loaded, kept_bytes) = match loaded {
            Ok((function, bytes)) => {
                self.metrics.package_loaded();
                (Ok(Loaded::new(function)), Some(bytes))
            }
            Err((failure, bytes)) => (Err(failure), bytes),
        };
        if let Some(bytes) = kept_bytes {
            self.loaded.lock().expect("package lock").insert(name, loaded.clone(), bytes);
        }
        loaded
    }

    /// Fetches and loads package object `name`: the function and the
    /// package's size, or the failure and, when the package's own bytes
    /// decided it (so that it is worth remembering), their size.
    async fn load(&self, name: &str) -> Result<(Function, usize), (Failure, Option<usize>)> {
        let bad = |why: String| Failure::new(ErrorKind::BadPackage, why);
        let lost = |why: String| (Failure::new(ErrorKind::Internal, format!("fetching {name}: {why}")), None);
        let sha = name
            .strip_prefix("package-")
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| (bad(format!("the task names {name:?}, not a package object")), None))?;
        let bytes = wire::get_object(&self.bucket, name, wire::MAX_OBJECT)
            .await
            .map_err(lost)?
            .ok_or_else(|| (bad(format!("the object store has no {name}")), None))?;
        if sha256(&bytes)[..] != sha[..] {
            return Err((bad(format!("{name} does not match its hash")), None));
        }
        let size = bytes.len();
        let decided = |failure: Failure| (failure, Some(size));
        let package = VerifiedPackage::from_vec(bytes).map_err(|e| decided(bad(e.to_string())))?;
        let (host, trusted) = (self.host.clone(), self.trusted.clone());
        let load = move |package: VerifiedPackage| {
            if trusted.is_empty() { host.load_package(package) } else { host.load_trusted_package(package, &trusted) }
        };
        let first = {
            let (load, package) = (load.clone(), package.clone());
            blocking(move || load(package)).await.map_err(|f| (f, None))?
        };
        match first {
            Err(shipfn_host::Error::ModuleMissing { .. }) => {}
            Ok(function) => return Ok((function, size)),
            Err(e) if e.kind() == ErrorKind::Internal => return Err((Failure::from(e), None)),
            Err(e) => return Err(decided(Failure::from(e))),
        }
        // A thin package whose module this host has not seen: fetch it once;
        // the host keeps it compiled for the next packages of that module.
        let module_name = wire::module_object(&package.manifest().module_sha256);
        let module = wire::get_object(&self.bucket, &module_name, wire::MAX_OBJECT)
            .await
            .map_err(lost)?
            .ok_or_else(|| (bad(format!("the object store has no {module_name}")), None))?;
        self.metrics.module_fetched();
        // A module that does not match its hash may be put right later.
        let package = package.with_module(module).map_err(|e| (bad(e.to_string()), None))?;
        match blocking(move || load(package)).await.map_err(|f| (f, None))? {
            Ok(function) => Ok((function, size)),
            Err(e) if e.kind() == ErrorKind::Internal => Err((Failure::from(e), None)),
            Err(e) => Err(decided(Failure::from(e))),
        }
    }
}

/// Runs host work (a compile can take seconds) off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Failure> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| Failure::new(ErrorKind::Internal, "loading the package panicked"))
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::new(ErrorKind::Internal, error.to_string())
    }
}
