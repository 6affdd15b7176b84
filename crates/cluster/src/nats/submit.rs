//! The submitting side: ship the package once, queue the inputs as tasks,
//! collect the results in input order.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer};
use bytes::Bytes;
use futures_util::StreamExt;
use shipfn_host::{ErrorKind, Form, Hash, ModuleStore, PublicKey, VerifiedPackage, sha256};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::NatsConfig;
use super::proof::{self, Part};
use super::wire::{self, Setup, Side};
use crate::outcome::parse_line;
use crate::{Error, Failure, Inputs, Outcome, Outcomes, Pool, Result};

/// How long a submitter keeps retrying a publish (a server restart).
const PUBLISH_PATIENCE: Duration = Duration::from_secs(120);
/// How often a running map checks its deadlines and the task consumer.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// The most runs of one task whose parts a submitter collects at once.
const MAX_RUNS: usize = 8;

/// Submits maps to the workers of a NATS JetStream server.
///
/// The package's module is uploaded once to the server's object store (by
/// SHA-256; a later map of the same module uploads nothing), tasks carry
/// batches of inputs, and the outcomes come back in input order. A task
/// whose worker dies is delivered again to another; one that is delivered
/// [`max_deliver`](NatsConfig::max_deliver) times without a result is
/// reported as an `internal` failure of each of its inputs.
///
/// A result counts only if it is bound to its task (job, batch, package
/// and inputs) and, when [`trust_workers`](Nats::trust_workers) named keys,
/// signed by one of them; any other result is ignored and counted in
/// [`JobStats::ignored`]. A task that gets only ignored results fails.
pub struct Nats {
    config: NatsConfig,
    modules: Option<Arc<dyn ModuleStore>>,
    trusted_workers: Arc<Vec<PublicKey>>,
    stats: Arc<Mutex<JobStats>>,
    on_idle: Option<Notice>,
}

/// Told, from the map's own thread, what a person watching should know.
type Notice = Arc<dyn Fn(String) + Send + Sync>;

/// What the last map sent and received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobStats {
    /// Bytes uploaded to the object store (0 when it had the module and package).
    pub uploaded_bytes: usize,
    /// Task messages published.
    pub tasks: u64,
    /// Bytes of task messages (inputs).
    pub task_bytes: usize,
    /// Tasks given up after their delivery limit.
    pub given_up: u64,
    /// Tasks whose result came from a second or later delivery: their first
    /// worker died, stalled, or lost the server before it acked.
    pub redelivered: u64,
    /// Result messages ignored: not bound to their task, not signed by a
    /// trusted worker, or not of the task's size.
    pub ignored: u64,
}

impl Nats {
    /// A submitter for the server in `config`.
    pub fn new(config: NatsConfig) -> Nats {
        Nats { config, modules: None, trusted_workers: Arc::default(), stats: Arc::default(), on_idle: None }
    }

    /// Accepts only results signed by one of `keys` (workers started with
    /// [`Worker::sign_with`](super::Worker::sign_with)). Without keys, any
    /// client of the server that reads a task can answer it.
    pub fn trust_workers(mut self, keys: Vec<PublicKey>) -> Nats {
        self.trusted_workers = Arc::new(keys);
        self
    }

    /// Whether results must be signed by a trusted worker.
    pub fn trusts_only_signed_results(&self) -> bool {
        !self.trusted_workers.is_empty()
    }

    /// Calls `notice` when tasks have been queued for
    /// [`idle_notice`](NatsConfig::idle_notice) and no worker has taken
    /// any: most likely no worker is running. The map goes on waiting.
    pub fn on_idle(mut self, notice: impl Fn(String) + Send + Sync + 'static) -> Nats {
        self.on_idle = Some(Arc::new(notice));
        self
    }

    /// Where to find the modules of thin packages that the server does not
    /// have yet.
    pub fn module_store(mut self, store: Arc<dyn ModuleStore>) -> Nats {
        self.modules = Some(store);
        self
    }

    /// What the last (or the running) map sent.
    pub fn stats(&self) -> JobStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Pool for Nats {
    fn map(&self, package: Vec<u8>, inputs: Inputs) -> Result<Outcomes> {
        // The job's messages need one thread: more would only add
        // cross-thread wake-ups to every task.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        *self.stats.lock().expect("stats lock") = JobStats::default();
        let mut job =
            runtime.block_on(Job::start(&self.config, package, self.modules.as_deref(), self.stats.clone()))?;
        job.on_idle = self.on_idle.clone();
        job.trusted_workers = self.trusted_workers.clone();
        let (batch_tx, batch_rx) = mpsc::channel::<Vec<String>>(2);
        let batch = self.config.batch;
        std::thread::Builder::new().name("shipfn-map-input".into()).spawn(move || {
            let mut inputs = inputs;
            loop {
                let lines: Vec<String> = inputs.by_ref().take(batch).collect();
                if lines.is_empty() || batch_tx.blocking_send(lines).is_err() {
                    return;
                }
            }
        })?;
        let (out_tx, out_rx) = mpsc::channel(4);
        std::thread::Builder::new()
            .name("shipfn-map-nats".into())
            .spawn(move || runtime.block_on(job.run(batch_rx, out_tx)))?;
        Ok(Box::new(Received { rx: out_rx, current: Vec::new().into_iter() }))
    }
}

/// The outcomes as they arrive from the job's thread, batch by batch.
struct Received {
    rx: mpsc::Receiver<Vec<Outcome>>,
    current: std::vec::IntoIter<Outcome>,
}

impl Iterator for Received {
    type Item = Outcome;

    fn next(&mut self) -> Option<Outcome> {
        loop {
            if let Some(outcome) = self.current.next() {
                return Some(outcome);
            }
            self.current = self.rx.blocking_recv()?.into_iter();
        }
    }
}

/// A task in flight: its size, its digest, where it sits in the task
/// stream, and the parts of its result received so far.
pub(crate) struct Pending {
    count: usize,
    digest: Hash,
    sequence: u64,
    outcomes: Option<Vec<Outcome>>,
    runs: HashMap<u64, Vec<Option<Bytes>>>,
    /// When the first ignored result for it came.
    ignored_since: Option<Instant>,
    /// When the server (or someone) said it was delivered too often.
    advised: Option<(Instant, String)>,
}

impl Pending {
    pub(crate) fn new(count: usize, digest: Hash) -> Pending {
        Pending { count, digest, sequence: 0, outcomes: None, runs: HashMap::new(), ignored_since: None, advised: None }
    }

    /// The outcomes of a completed task.
    pub(crate) fn outcomes(&self) -> Option<&[Outcome]> {
        self.outcomes.as_deref()
    }

    fn fail(&mut self, message: String) {
        self.outcomes = Some(vec![Err(Failure::new(ErrorKind::Internal, message)); self.count]);
        self.runs.clear();
    }
}

/// One map on the server.
struct Job {
    id: String,
    config: NatsConfig,
    client: async_nats::Client,
    js: jetstream::Context,
    setup: Setup,
    package_object: String,
    stats: Arc<Mutex<JobStats>>,
    on_idle: Option<Notice>,
    trusted_workers: Arc<Vec<PublicKey>>,
    violations: wire::Violations,
    /// The job's results and the delivery advisories, subscribed to at
    /// start (so that a refusal there refuses the map before any input).
    listening: Option<(consumer::pull::Ordered, async_nats::Subscriber)>,
}

impl Job {
    /// Connects, and ships the module and package unless the server has them.
    async fn start(
        config: &NatsConfig,
        package: Vec<u8>,
        modules: Option<&dyn ModuleStore>,
        stats: Arc<Mutex<JobStats>>,
    ) -> Result<Job> {
        let (client, violations) = wire::connect(config, "shipfn map", None).await?;
        let js = jetstream::new(client.clone());
        let setup = Setup::ensure(&js, config, Side::Submitter, &violations).await?;
        let verified = VerifiedPackage::from_bytes(&package)?;
        let module_sha = verified.manifest().module_sha256;
        let module_object = wire::module_object(&module_sha);
        // The module travels alone, once; the package that travels names it.
        // A signed full package travels as it is: its signature covers the
        // bytes of the full form.
        let (shipped, module, thin) = match (verified.form(), verified.signer()) {
            (Form::Thin, _) => (package, None, true),
            (_, Some(_)) => (package, None, false),
            (_, None) => {
                let full = verified.into_package();
                (full.encode_as(Form::Thin, None), Some(full.module), true)
            }
        };
        let refused = violations.next_report();
        let upload = async {
            let mut uploaded = 0;
            if thin {
                let module = match module {
                    Some(module) => Some(module),
                    None if setup.bucket.info(&module_object).await.is_ok() => None,
                    None => Some(module_from(modules, &module_sha)?),
                };
                if let Some(module) = module {
                    uploaded += wire::put_once(&setup.bucket, &module_object, &module).await?;
                }
            }
            let package_object = wire::package_object(&sha256(&shipped));
            uploaded += wire::put_once(&setup.bucket, &package_object, &shipped).await?;
            Ok::<_, Error>((uploaded, package_object))
        };
        let (uploaded, package_object) = tokio::select! {
            done = upload => done?,
            () = refused => return Err(violations.refusal(&config.url, "uploading the package")),
        };
        stats.lock().expect("stats lock").uploaded_bytes = uploaded;
        // Unpredictable: nobody can publish results for a job before its
        // first task shows its id.
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|e| Error::nats("choosing a job id", e))?;
        let id = hex::encode(random);
        debug_assert!(wire::valid_job(&id));
        let mut job = Job {
            id,
            config: config.clone(),
            client,
            js,
            setup,
            package_object,
            stats,
            on_idle: None,
            trusted_workers: Arc::default(),
            violations,
            listening: None,
        };
        let result_subject = format!("{}{}", config.namespace.result_prefix(), job.id);
        let refused = job.violations.next_report();
        job.listening = Some(tokio::select! {
            listening = job.listen(&result_subject) => listening?,
            () = refused => return Err(job.violations.refusal(&config.url, "reading results")),
        });
        Ok(job)
    }

    /// Submits the batches from `inputs` and sends their outcomes to `out`
    /// in order, keeping at most `ahead` tasks in flight.
    async fn run(mut self, mut inputs: mpsc::Receiver<Vec<String>>, out: mpsc::Sender<Vec<Outcome>>) {
        let result_subject = format!("{}{}", self.config.namespace.result_prefix(), self.id);
        let mut pending: BTreeMap<u64, Pending> = BTreeMap::new();
        let mut by_sequence: HashMap<u64, u64> = HashMap::new();
        let (mut submitted, mut emitted, mut inputs_done) = (0u64, 0u64, false);
        let (mut last_result, mut idle_told) = (tokio::time::Instant::now(), false);
        let mut publishes = tokio::task::JoinSet::new();
        let mut checks = tokio::time::interval(CHECK_EVERY);
        // A request the server refuses only times out: end at its report.
        let refused = self.violations.next_report();
        tokio::pin!(refused);
        let listening = self.listening.take().ok_or_else(|| Error::nats("reading results", "not subscribed"));
        let fatal = match listening {
            Err(e) => Some(e),
            Ok((mut results, mut advisories)) => loop {
                // Hand over what is complete, in order.
                while let Some(outcomes) = pending.get_mut(&emitted).and_then(|p| p.outcomes.take()) {
                    pending.remove(&emitted);
                    if out.send(outcomes).await.is_err() {
                        self.clean_up(&result_subject).await;
                        return;
                    }
                    emitted += 1;
                }
                if inputs_done && emitted == submitted {
                    break None;
                }
                let room = !inputs_done && submitted < emitted + self.config.ahead as u64;
                tokio::select! {
                    batch = inputs.recv(), if room => match batch {
                        None => inputs_done = true,
                        Some(lines) => {
                            // Publishes go out without waiting for each ack.
                            let (digest, publish) = self.submit(submitted, &lines);
                            publishes.spawn(publish);
                            pending.insert(submitted, Pending::new(lines.len(), digest));
                            submitted += 1;
                        }
                    },
                    Some(published) = publishes.join_next(), if !publishes.is_empty() => match published {
                        Ok((batch, Ok(sequence))) => {
                            by_sequence.insert(sequence, batch);
                            if let Some(task) = pending.get_mut(&batch) {
                                task.sequence = sequence;
                            }
                        }
                        Ok((_, Err(e))) => break Some(e),
                        Err(e) => break Some(Error::nats("publishing a task", e)),
                    },
                    message = results.next() => match message {
                        Some(Ok(message)) => {
                            (last_result, idle_told) = (tokio::time::Instant::now(), false);
                            let taken =
                                take_part(&mut pending, message.headers.as_ref(), &message.payload, &self.trusted_workers);
                            if let Ok(mut stats) = self.stats.lock() {
                                match taken {
                                    Taken::Ignored => stats.ignored += 1,
                                    Taken::Completed if header_u64(message.headers.as_ref(), wire::DELIVERY)
                                        .is_some_and(|n| n > 1) => stats.redelivered += 1,
                                    _ => {}
                                }
                            }
                        }
                        Some(Err(_)) => {} // the ordered consumer recreates itself
                        None => break Some(Error::nats("reading results", "the result stream ended")),
                    },
                    () = tokio::time::sleep_until(last_result + self.config.idle_notice),
                        if !idle_told && !pending.is_empty() && self.on_idle.is_some() => {
                        idle_told = true;
                        self.tell_if_idle().await;
                    }
                    advisory = advisories.next() => {
                        let Some(advisory) = advisory else {
                            break Some(Error::nats("watching deliveries", "the subscription ended"));
                        };
                        note_advisory(&self.config.namespace, &mut pending, &by_sequence, &advisory.payload);
                    }
                    () = &mut refused => break Some(self.violations.refusal(&self.config.url, "running the map")),
                    _ = checks.tick() => {
                        self.check_deadlines(&mut pending).await;
                        self.check_consumer().await;
                    }
                }
            },
        };
        // Refused, the map published nothing to clean up, and the server
        // would refuse the clean-up too (only after its requests' timeouts).
        let refused = matches!(fatal, Some(Error::Refused { .. }));
        if let Some(error) = fatal {
            // Every input still gets its line: the failure that stopped the map.
            let failure = Failure::new(ErrorKind::Internal, format!("not run: {error}"));
            let fail = |count: usize| vec![Err(failure.clone()); count];
            let mut unfinished: Vec<Vec<Outcome>> = Vec::new();
            for (_, p) in std::mem::take(&mut pending).into_iter().filter(|(batch, _)| *batch >= emitted) {
                unfinished.push(p.outcomes.unwrap_or_else(|| fail(p.count)));
            }
            for outcomes in unfinished {
                if out.send(outcomes).await.is_err() {
                    break;
                }
            }
            while let Some(lines) = inputs.recv().await {
                if out.send(fail(lines.len())).await.is_err() {
                    break;
                }
            }
        }
        if !refused {
            self.clean_up(&result_subject).await;
        }
    }

    /// Tells `on_idle` if tasks wait and no worker holds any.
    async fn tell_if_idle(&self) {
        let (Some(notice), Ok(info)) = (&self.on_idle, self.setup.consumer.get_info().await) else { return };
        if info.num_pending > 0 && info.num_ack_pending == 0 {
            notice(format!(
                "{} tasks are queued and no worker has taken one for {} s; is a worker running? \
                 (shipfn worker --nats {})",
                info.num_pending,
                self.config.idle_notice.as_secs(),
                self.config.url
            ));
        }
    }

    /// The job's results, and the advisories of tasks given up.
    async fn listen(&self, result_subject: &str) -> Result<(consumer::pull::Ordered, async_nats::Subscriber)> {
        let advisories = self
            .client
            .subscribe(format!(
                "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{}.{}",
                self.config.namespace.tasks(),
                self.config.namespace.workers()
            ))
            .await
            .map_err(|e| Error::nats("watching deliveries", e))?;
        let results = self
            .setup
            .results
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: result_subject.to_owned(),
                deliver_policy: consumer::DeliverPolicy::All,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::nats("reading results", e))?
            .messages()
            .await
            .map_err(|e| Error::nats("reading results", e))?;
        Ok((results, advisories))
    }

    /// Publishing task `batch`: its digest, and a future of its number and
    /// its sequence in the task stream. A retried publish that had landed
    /// is dropped by the server as a duplicate; the message id names the
    /// task's digest, so a forged task with this batch number and other
    /// inputs cannot stand in for it.
    fn submit(
        &self,
        batch: u64,
        lines: &[String],
    ) -> (Hash, impl std::future::Future<Output = (u64, Result<u64>)> + Send + 'static) {
        let payload = Bytes::from(lines.join("\n"));
        let digest = proof::task_digest(&self.id, batch, &self.package_object, &payload);
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{}.{batch}.{}", self.id, hex::encode(&digest[..16])).as_str());
        headers.insert(wire::PACKAGE, self.package_object.as_str());
        headers.insert(wire::BATCH, batch.to_string().as_str());
        headers.insert(wire::COUNT, lines.len().to_string().as_str());
        let subject = format!("{}{}", self.config.namespace.task_prefix(), self.id);
        if let Ok(mut stats) = self.stats.lock() {
            stats.tasks += 1;
            stats.task_bytes += payload.len();
        }
        let js = self.js.clone();
        let publish = async move {
            let ack = wire::retry(PUBLISH_PATIENCE, || async {
                js.publish_with_headers(subject.clone(), headers.clone(), payload.clone()).await?.await
            })
            .await;
            (batch, ack.map(|ack| ack.sequence).map_err(|e| Error::nats("publishing a task", e)))
        };
        (digest, publish)
    }

    /// Fails the tasks whose time is up: those that got only ignored
    /// results for longer than every delivery could take, and those past
    /// their delivery limit (after an advisory) that still have no result
    /// an ack wait later. An advisory is a claim that anyone on the server
    /// could make; waiting an ack wait gives a task that is still running
    /// the time to answer.
    async fn check_deadlines(&self, pending: &mut BTreeMap<u64, Pending>) {
        let now = Instant::now();
        // The consumer's settings are the workers' (a worker sets them).
        let consumer = &self.setup.consumer.cached_info().config;
        let deliveries = u32::try_from(consumer.max_deliver).unwrap_or(u32::MAX).max(1);
        let patience = consumer.ack_wait.saturating_mul(deliveries) + Duration::from_secs(5);
        let advisory_wait = consumer.ack_wait + Duration::from_secs(2);
        for task in pending.values_mut().filter(|p| p.outcomes.is_none()) {
            if let Some((at, times)) = &task.advised
                && now.duration_since(*at) >= advisory_wait
            {
                let message = format!(
                    "the task holding this input was delivered {times} without a result (its workers died or stalled)"
                );
                task.fail(message);
                let _ = self.setup.tasks.delete_message(task.sequence).await;
                if let Ok(mut stats) = self.stats.lock() {
                    stats.given_up += 1;
                }
            } else if let Some(since) = task.ignored_since
                && now.duration_since(since) >= patience
            {
                let whom = if self.trusted_workers.is_empty() { "a worker" } else { "a trusted worker" };
                task.fail(format!(
                    "no result from {whom} within {} s; results for this input that were not bound to its task{} \
                     were ignored",
                    patience.as_secs(),
                    if self.trusted_workers.is_empty() { "" } else { " or not signed by a --trust-worker key" }
                ));
                let _ = self.setup.tasks.delete_message(task.sequence).await;
            }
        }
    }

    /// Sets the task consumer up again if someone deleted it mid-map, so
    /// that the queued tasks are delivered.
    async fn check_consumer(&mut self) {
        if let Err(e) = self.setup.consumer.get_info().await
            && e.to_string().contains("not found")
            && let Ok(setup) = Setup::ensure(&self.js, &self.config, Side::Submitter, &self.violations).await
        {
            self.setup.consumer = setup.consumer;
        }
    }

    /// Removes what is left of the job from the server: unrun tasks (after
    /// a stop) and the collected results.
    async fn clean_up(&self, result_subject: &str) {
        let task_subject = format!("{}{}", self.config.namespace.task_prefix(), self.id);
        let _ = self.setup.tasks.purge().filter(task_subject).await;
        let _ = self.setup.results.purge().filter(result_subject).await;
    }
}

/// What became of one result message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// It completed its task's result.
    Completed,
    /// It was a part of a result still incomplete.
    Part,
    /// Its task already had a result, or is not this job's: a duplicate.
    Late,
    /// Not bound to its task, not signed by a trusted worker, or not of
    /// the task's size: it counts for nothing.
    Ignored,
}

/// Takes a result message (one part of a result) for its task if it is
/// bound to the task and, when `trusted` names keys, signed by one of them.
/// A run whose parts are all in completes the task.
pub(crate) fn take_part(
    pending: &mut BTreeMap<u64, Pending>,
    headers: Option<&HeaderMap>,
    payload: &Bytes,
    trusted: &[PublicKey],
) -> Taken {
    let Some(headers) = headers else { return Taken::Ignored };
    let Some(batch) = header_u64(Some(headers), wire::BATCH) else { return Taken::Ignored };
    let Some(task) = pending.get_mut(&batch) else { return Taken::Late };
    if task.outcomes.is_some() {
        return Taken::Late;
    }
    let acceptable = Part::read(headers, wire::COUNT).filter(|part| {
        part.task == task.digest
            && part.count == task.count as u64
            && (trusted.is_empty() || part.signed_by_one_of(headers, payload, trusted))
    });
    let Some(part) = acceptable else {
        task.ignored_since.get_or_insert_with(Instant::now);
        return Taken::Ignored;
    };
    if !task.runs.contains_key(&part.run) && task.runs.len() >= MAX_RUNS {
        return Taken::Ignored;
    }
    let run = task.runs.entry(part.run).or_insert_with(|| vec![None; part.parts as usize]);
    if run.len() != part.parts as usize {
        return Taken::Ignored;
    }
    run[part.index as usize] = Some(payload.clone());
    if run.iter().any(Option::is_none) {
        return Taken::Part;
    }
    let whole: Vec<u8> = run.iter().flatten().flat_map(|b| b.iter().copied()).collect();
    let text = String::from_utf8_lossy(&whole);
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() != task.count {
        task.runs.remove(&part.run);
        task.ignored_since.get_or_insert_with(Instant::now);
        return Taken::Ignored;
    }
    let outcomes = lines
        .into_iter()
        .map(|line| {
            parse_line(line)
                .unwrap_or_else(|why| Err(Failure::new(ErrorKind::Internal, format!("a malformed result: {why}"))))
        })
        .collect();
    task.outcomes = Some(outcomes);
    task.runs.clear();
    Taken::Completed
}

/// A task went past its delivery limit, says an advisory: its inputs fail
/// unless a result comes within an ack wait (see `check_deadlines`).
fn note_advisory(
    names: &super::Namespace,
    pending: &mut BTreeMap<u64, Pending>,
    by_sequence: &HashMap<u64, u64>,
    advisory: &[u8],
) {
    let Ok(advisory) = serde_json::from_slice::<serde_json::Value>(advisory) else { return };
    if advisory["stream"].as_str() != Some(names.tasks()) || advisory["consumer"].as_str() != Some(names.workers()) {
        return;
    }
    let Some(sequence) = advisory["stream_seq"].as_u64() else { return };
    let Some(batch) = by_sequence.get(&sequence) else { return };
    let Some(task) = pending.get_mut(batch).filter(|p| p.outcomes.is_none() && p.advised.is_none()) else { return };
    let times = match advisory["deliveries"].as_u64() {
        Some(1) => "1 time".to_owned(),
        Some(n) => format!("{n} times"),
        None => "too many times".to_owned(),
    };
    task.advised = Some((Instant::now(), times));
}

/// A numeric header.
pub(super) fn header_u64(headers: Option<&HeaderMap>, name: &str) -> Option<u64> {
    headers?.get(name)?.as_str().parse().ok()
}

/// A thin package's module from the local store, for a server that lacks it.
fn module_from(modules: Option<&dyn ModuleStore>, sha: &shipfn_host::Hash) -> Result<Vec<u8>> {
    let missing = |damaged| shipfn_host::Error::ModuleMissing { sha256: hex::encode(sha), damaged };
    let store = modules.ok_or_else(|| missing(false))?;
    let wasm = store.get(sha)?;
    let wasm = wasm.ok_or_else(|| missing(false))?;
    if sha256(&wasm) != *sha {
        return Err(missing(true).into());
    }
    Ok(wasm)
}
