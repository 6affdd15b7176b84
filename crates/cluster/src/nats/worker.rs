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
use shipfn_host::{ErrorKind, Function, Host, PublicKey, VerifiedPackage, sha256};
use tokio::sync::Semaphore;

use super::NatsConfig;
use super::submit::header_u64;
use super::wire::{self, Setup, Side};
use crate::outcome::{call, line};
use crate::pace::Pace;
use crate::{Error, Failure, Outcome, Result};

/// Packages a worker keeps loaded.
const KEEP_PACKAGES: usize = 256;

/// Runs the tasks of a NATS JetStream server's task queue with a host of
/// this machine. The worker's limits and trusted keys are its own: a task
/// cannot change them, and a package the worker does not trust is answered
/// with an `untrusted` failure for each of its inputs.
pub struct Worker {
    config: NatsConfig,
    host: Host,
    trusted: Vec<PublicKey>,
    jobs: usize,
}

impl Worker {
    /// A worker that runs tasks on `host`, one per core at a time.
    pub fn new(host: Host, config: NatsConfig) -> Worker {
        let jobs = std::thread::available_parallelism().map_or(1, usize::from);
        Worker { config, host, trusted: Vec::new(), jobs }
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
    pub async fn run(self, stop: impl Future<Output = ()>) -> Result<()> {
        let client = wire::connect(&self.config, "shipfn worker").await?;
        let js = jetstream::new(client);
        let Setup { consumer, bucket, .. } = Setup::ensure(&js, &self.config, Side::Worker).await?;
        let shared = Arc::new(Shared {
            js,
            packages: Packages { bucket, host: self.host, trusted: self.trusted, loaded: Mutex::default() },
            ack_wait: self.config.ack_wait,
        });
        let slots = Arc::new(Semaphore::new(self.jobs));
        let mut tasks = tokio::task::JoinSet::new();
        tokio::pin!(stop);
        // One continuous pull: the client keeps requests outstanding, a few
        // tasks ahead of the free slots, and renews them after a reconnect.
        'work: loop {
            let stream =
                consumer.stream().max_messages_per_batch(self.jobs * 2).expires(Duration::from_secs(5)).messages();
            let mut messages = match stream.await {
                Ok(messages) => messages,
                Err(_) => {
                    // The server is away: the client reconnects; try again.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            loop {
                let message = tokio::select! {
                    () = &mut stop => break 'work,
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
        Ok(())
    }
}

/// What the tasks of one worker share.
struct Shared {
    js: jetstream::Context,
    packages: Packages,
    ack_wait: Duration,
}

impl Shared {
    /// Runs one task in `slot`, then (the slot given back for the next
    /// task) publishes its result and acks it. A task whose result cannot
    /// be published is not acked, so it is delivered again.
    async fn handle(&self, message: jetstream::Message, slot: tokio::sync::OwnedSemaphorePermit) {
        let Some((job, batch)) = task_id(&message) else {
            // Not a task of ours: drop it from the queue for good.
            let _ = message.ack_with(AckKind::Term).await;
            return;
        };
        let lines: Vec<String> = String::from_utf8_lossy(&message.payload).split('\n').map(str::to_owned).collect();
        let work = async {
            let package = message.headers.as_ref().and_then(|h| h.get(wire::PACKAGE)).map(|v| v.as_str().to_owned());
            let function = match package {
                Some(name) => self.packages.function(&name).await,
                None => Err(Failure::new(ErrorKind::BadPackage, "the task names no package")),
            };
            let count = lines.len();
            match function {
                // Short work runs here: handing it to a blocking thread and
                // back costs more than such calls (two wake-ups: about
                // 60 µs of CPU a task on a 2-core machine).
                Ok(loaded) if loaded.is_short(count) => loaded.run(&lines),
                Ok(loaded) => tokio::task::spawn_blocking(move || loaded.run(&lines))
                    .await
                    .unwrap_or_else(|_| vec![Err(Failure::new(ErrorKind::Internal, "the worker panicked")); count]),
                Err(failure) => vec![Err(failure); lines.len()],
            }
        };
        // Progress acks keep a long task from going to another worker.
        tokio::pin!(work);
        // The first tick a period from now: an interval's immediate first
        // tick still waits for the timer driver, up to a millisecond.
        let period = (self.ack_wait / 3).max(Duration::from_millis(100));
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let outcomes = loop {
            tokio::select! {
                outcomes = &mut work => break outcomes,
                _ = ticks.tick() => { let _ = message.ack_with(AckKind::Progress).await; }
            }
        };
        drop(slot);
        let body: Vec<String> = outcomes.iter().map(line).collect();
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{job}.{batch}").as_str());
        headers.insert(wire::BATCH, batch.to_string().as_str());
        headers.insert(wire::COUNT, body.len().to_string().as_str());
        if let Ok(info) = message.info() {
            headers.insert(wire::DELIVERY, info.delivered.to_string().as_str());
        }
        let payload = Bytes::from(body.join("\n"));
        let subject = format!("{}{job}", wire::RESULT_PREFIX);
        let published = wire::retry(self.ack_wait, || async {
            self.js.publish_with_headers(subject.clone(), headers.clone(), payload.clone()).await?.await
        })
        .await;
        // A plain ack: the result is stored, so an ack the server never
        // sees only means a redelivery, whose result is dropped as a
        // duplicate. Waiting for the server to confirm would cost a round
        // trip and a subscription per task.
        if published.is_ok() {
            let _ = message.ack().await;
        }
    }
}

/// The job and batch of a task message, if it is a well-formed one.
fn task_id(message: &jetstream::Message) -> Option<(String, u64)> {
    let job = message.subject.as_str().strip_prefix(wire::TASK_PREFIX)?;
    let batch = header_u64(message.headers.as_ref(), wire::BATCH)?;
    wire::valid_job(job).then(|| (job.to_owned(), batch))
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
    loaded: Mutex<HashMap<String, Result<Loaded, Failure>>>,
}

impl Packages {
    /// The function in package object `name`, loaded once.
    async fn function(&self, name: &str) -> Result<Loaded, Failure> {
        if let Some(loaded) = self.loaded.lock().expect("package lock").get(name) {
            return loaded.clone();
        }
        let loaded = self.load(name).await.map(Loaded::new);
        // A failure of the server is worth another try; a bad package is not.
        if !matches!(&loaded, Err(f) if f.kind == ErrorKind::Internal) {
            let mut cache = self.loaded.lock().expect("package lock");
            if cache.len() >= KEEP_PACKAGES {
                cache.clear();
            }
            cache.insert(name.to_owned(), loaded.clone());
        }
        loaded
    }

    async fn load(&self, name: &str) -> Result<Function, Failure> {
        let bad = |why: String| Failure::new(ErrorKind::BadPackage, why);
        let lost = |why: String| Failure::new(ErrorKind::Internal, format!("fetching {name}: {why}"));
        let sha = name
            .strip_prefix("package-")
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| bad(format!("the task names {name:?}, not a package object")))?;
        let bytes = wire::get_object(&self.bucket, name, wire::MAX_OBJECT)
            .await
            .map_err(lost)?
            .ok_or_else(|| bad(format!("the object store has no {name}")))?;
        if sha256(&bytes)[..] != sha[..] {
            return Err(bad(format!("{name} does not match its hash")));
        }
        let package = VerifiedPackage::from_vec(bytes).map_err(|e| bad(e.to_string()))?;
        let (host, trusted) = (self.host.clone(), self.trusted.clone());
        let load = move |package: VerifiedPackage| {
            if trusted.is_empty() { host.load_package(package) } else { host.load_trusted_package(package, &trusted) }
        };
        let first = {
            let (load, package) = (load.clone(), package.clone());
            blocking(move || load(package)).await?
        };
        match first {
            Err(shipfn_host::Error::ModuleMissing { .. }) => {}
            other => return other.map_err(Failure::from),
        }
        // A thin package whose module this host has not seen: fetch it once;
        // the host keeps it compiled for the next packages of that module.
        let module_name = wire::module_object(&package.manifest().module_sha256);
        let module = wire::get_object(&self.bucket, &module_name, wire::MAX_OBJECT)
            .await
            .map_err(lost)?
            .ok_or_else(|| bad(format!("the object store has no {module_name}")))?;
        let package = package.with_module(module).map_err(|e| bad(e.to_string()))?;
        blocking(move || load(package)).await?.map_err(Failure::from)
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
