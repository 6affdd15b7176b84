//! The names, streams and messages that submitters and workers share.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, object_store, stream};
use tokio::io::AsyncReadExt;

use super::NatsConfig;
use crate::{Error, Result};

/// Header: the object name of the task's package.
pub const PACKAGE: &str = "Shipfn-Package";
/// Header: the task's number within its job.
pub const BATCH: &str = "Shipfn-Batch";
/// Header: how many inputs (or outcomes) the message holds.
pub const COUNT: &str = "Shipfn-Count";
/// Header of a result: which delivery of its task it answers (1 for the first).
pub const DELIVERY: &str = "Shipfn-Delivery";

/// How long the servers remember message ids to drop duplicates: longer
/// than a submitter retries a publish, and than a worker takes to publish
/// the result of a task.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long results nobody collected (a submitter that died) are kept. A
/// running submitter reads each result within moments of its arrival and
/// deletes its job's results when it ends.
const RESULTS_MAX_AGE: Duration = Duration::from_secs(60 * 60);
/// The most bytes the task stream holds; a publish beyond it is refused
/// (the submitter retries, then fails), never an older task dropped.
const TASKS_MAX_BYTES: i64 = 1 << 30;
/// The most bytes the result stream holds; a publish beyond it is refused
/// (the worker does not ack, so the task runs again later).
const RESULTS_MAX_BYTES: i64 = 1 << 30;
/// How long modules and packages stay in the object store after their
/// upload (a submitter uploads again what has expired).
const OBJECTS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Room left in a message for headers, below the server's payload limit.
const HEADER_ROOM: usize = 4096;

/// The largest package or module a worker reads from the bucket.
pub const MAX_OBJECT: usize = 256 << 20;

/// A job's id, as it appears in subjects: letters and digits only.
pub fn valid_job(job: &str) -> bool {
    !job.is_empty() && job.len() <= 64 && job.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The largest result payload a message may carry on a server whose
/// message limit is `max_payload` (0: the server did not say; 1 MiB, the
/// server's default).
pub fn max_part(max_payload: usize) -> usize {
    let max_payload = if max_payload == 0 { 1 << 20 } else { max_payload };
    max_payload.saturating_sub(HEADER_ROOM).max(1024)
}

/// The object name of a module.
pub fn module_object(sha256: &[u8]) -> String {
    format!("module-{}", hex::encode(sha256))
}

/// The object name of a package.
pub fn package_object(sha256: &[u8]) -> String {
    format!("package-{}", hex::encode(sha256))
}

/// The streams, the task consumer and the bucket, created if missing.
pub struct Setup {
    pub tasks: stream::Stream,
    pub results: stream::Stream,
    pub consumer: consumer::PullConsumer,
    pub bucket: object_store::ObjectStore,
}

/// Which side sets up: a worker updates the task consumer's delivery
/// settings to its own; a submitter takes them as they are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Worker,
    Submitter,
}

/// The last permissions violation the server reported on a connection.
/// The client reports one only as an asynchronous server error, and the
/// request that caused it then times out; this names what was denied, and
/// lets setup end as soon as it is reported rather than at the timeout.
#[derive(Clone)]
pub struct Violations(std::sync::Arc<tokio::sync::watch::Sender<Option<String>>>);

impl Default for Violations {
    fn default() -> Violations {
        Violations(std::sync::Arc::new(tokio::sync::watch::Sender::new(None)))
    }
}

impl Violations {
    fn record(&self, text: String) {
        self.0.send_replace(Some(text));
    }

    /// A future that resolves once the server reports a permissions
    /// violation after this call (an earlier one is not this request's).
    pub fn next_report(&self) -> impl std::future::Future<Output = ()> + use<> {
        let mut seen = self.0.subscribe();
        async move {
            // Ends only by a report: the sender lives as long as `self`.
            while seen.changed().await.is_ok() {
                if seen.borrow_and_update().is_some() {
                    return;
                }
            }
            std::future::pending::<()>().await
        }
    }

    /// The refusal that names the last violation reported, for `doing`.
    pub fn refusal(&self, url: &str, doing: &'static str) -> Error {
        self.explain(url, Error::nats(doing, "the server refused a request"))
    }

    /// `error`, or, if the server reported a permissions violation, a
    /// refusal that names it.
    pub fn explain(&self, url: &str, error: Error) -> Error {
        match self.0.borrow().clone() {
            Some(violation) => Error::Refused {
                url: url.to_owned(),
                message: format!(
                    "{violation} (shipfn needs to publish and subscribe under shipfn.> and $JS.API.>; {error})"
                ),
            },
            None => error,
        }
    }
}

/// What a long-lived client is told of its connection.
#[derive(Clone, Default)]
pub struct Events {
    /// Each time the connection is made (again, after a loss).
    pub connected: std::sync::Arc<tokio::sync::Notify>,
    /// The server is entering lame duck mode: it is about to shut down and
    /// will close its connections over its lame duck duration.
    pub lame_duck: std::sync::Arc<tokio::sync::Notify>,
}

/// Connects to the server in `config`; `events`, if given, are told what
/// happens to the connection.
pub async fn connect(
    config: &NatsConfig,
    name: &str,
    events: Option<Events>,
) -> Result<(async_nats::Client, Violations)> {
    let violations = Violations::default();
    let seen = violations.clone();
    let mut options = super::connect::options(&config.url, &config.auth, &config.tls).await?.name(name);
    if let Some(prefix) = &config.inbox_prefix {
        options = options.custom_inbox_prefix(prefix);
    }
    let options = options.event_callback(move |event| {
        let (events, seen) = (events.clone(), seen.clone());
        async move {
            match event {
                async_nats::Event::Connected => {
                    if let Some(events) = events {
                        events.connected.notify_one();
                    }
                }
                async_nats::Event::LameDuckMode => {
                    if let Some(events) = events {
                        events.lame_duck.notify_one();
                    }
                }
                async_nats::Event::ServerError(async_nats::ServerError::Other(text))
                    if text.to_ascii_lowercase().contains("permissions violation") =>
                {
                    seen.record(text);
                }
                _ => {}
            }
        }
    });
    let client = options.connect(config.urls()).await.map_err(|e| super::connect::connect_error(&config.url, &e))?;
    Ok((client, violations))
}

impl Setup {
    /// Sets up what is missing; an error names a permissions violation if
    /// the server reported one.
    pub async fn ensure(
        js: &jetstream::Context,
        config: &NatsConfig,
        side: Side,
        violations: &Violations,
    ) -> Result<Setup> {
        let denied = Error::nats("setting up", "the server refused a request");
        let reported = violations.next_report();
        let setup = tokio::select! {
            setup = Setup::ensure_reporting(js, config, side) => setup,
            () = reported => Err(denied),
        };
        setup.map_err(|e| violations.explain(&config.url, e))
    }

    async fn ensure_reporting(js: &jetstream::Context, config: &NatsConfig, side: Side) -> Result<Setup> {
        // Created if missing, brought to these limits if an older shipfn
        // made them otherwise, and otherwise only read: a client whose
        // permissions allow no more (a worker's, in docs/deploy.md) works
        // once the streams are there.
        let names = &config.namespace;
        let replicas = config.replicas;
        let tasks = stream_as(
            js,
            stream::Config {
                name: names.tasks().into(),
                subjects: vec![format!("{}>", names.task_prefix())],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                max_bytes: TASKS_MAX_BYTES,
                discard: stream::DiscardPolicy::New,
                num_replicas: replicas.unwrap_or(1),
                ..Default::default()
            },
            replicas.is_some(),
            "the task stream",
        )
        .await?;
        let results = stream_as(
            js,
            stream::Config {
                name: names.results().into(),
                subjects: vec![format!("{}>", names.result_prefix())],
                storage: stream::StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                max_age: RESULTS_MAX_AGE,
                max_bytes: RESULTS_MAX_BYTES,
                discard: stream::DiscardPolicy::New,
                num_replicas: replicas.unwrap_or(1),
                ..Default::default()
            },
            replicas.is_some(),
            "the result stream",
        )
        .await?;
        let consumer_config = consumer::pull::Config {
            durable_name: Some(names.workers().into()),
            description: Some("shipfn workers".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: config.ack_wait,
            max_deliver: config.max_deliver,
            filter_subject: format!("{}>", names.task_prefix()),
            ..Default::default()
        };
        let consumer = match side {
            Side::Worker => tasks.create_consumer(consumer_config).await,
            Side::Submitter => tasks.get_or_create_consumer(names.workers(), consumer_config).await,
        }
        .map_err(|e| Error::nats("creating the task consumer", e))?;
        let bucket = match js.get_object_store(names.bucket()).await {
            Ok(bucket) => {
                if let Some(replicas) = replicas {
                    // The bucket is the stream `OBJ_<bucket>`: its replicas
                    // change as any stream's do.
                    let stream_name = format!("OBJ_{}", names.bucket());
                    let stream = js.get_stream(&stream_name).await.map_err(|e| Error::nats("reading the bucket", e))?;
                    let mut want = stream.cached_info().config.clone();
                    if want.num_replicas != replicas {
                        want.num_replicas = replicas;
                        js.update_stream(want).await.map_err(|e| Error::nats("setting the bucket's replicas", e))?;
                    }
                }
                bucket
            }
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: names.bucket().into(),
                    description: Some("shipfn modules and packages, by SHA-256".into()),
                    storage: stream::StorageType::File,
                    max_age: OBJECTS_MAX_AGE,
                    num_replicas: replicas.unwrap_or(1),
                    ..Default::default()
                })
                .await
                .map_err(|e| Error::nats("creating the object store bucket", e))?,
        };
        for name in [names.tasks().to_owned(), names.results().to_owned(), format!("OBJ_{}", names.bucket())] {
            led(js, &name).await?;
        }
        consumer_led(&consumer).await?;
        Ok(Setup { tasks, results, consumer, bucket })
    }
}

/// How long a stream just made on a JetStream cluster may take to elect
/// its leader, before a publish to it can succeed.
const LEADER_WAIT: Duration = Duration::from_secs(20);

/// Waits until the task consumer has a leader: on a cluster, a fetch
/// before that waits out its whole expiry.
async fn consumer_led(consumer: &consumer::PullConsumer) -> Result<()> {
    until_led("the task consumer", || async {
        let info = consumer.get_info().await.map_err(|e| Error::nats("reading the task consumer", e))?;
        Ok(info.cluster.is_none_or(|c| c.leader.is_some()))
    })
    .await
}

/// Waits until stream `name` has a leader: on a cluster, a stream just
/// created answers its publishes only from then on ("no stream found").
async fn led(js: &jetstream::Context, name: &str) -> Result<()> {
    until_led(name, || async {
        // Getting a stream reads its info afresh.
        let stream = js.get_stream(name).await.map_err(|e| Error::nats("reading a stream", e))?;
        Ok(stream.cached_info().cluster.as_ref().is_none_or(|c| c.leader.is_some()))
    })
    .await
}

/// Asks `has_leader` every 100 ms until it says yes, for [`LEADER_WAIT`].
async fn until_led<F: std::future::Future<Output = Result<bool>>>(
    what: &str,
    mut has_leader: impl FnMut() -> F,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + LEADER_WAIT;
    while !has_leader().await? {
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::nats("waiting for a leader", format!("{what} has none after {LEADER_WAIT:?}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The stream `desired` names, as it is if its subjects and limits are
/// `desired`'s (and its replicas, if `replicas` counts), else brought to
/// them, or created if it is missing.
async fn stream_as(
    js: &jetstream::Context,
    mut desired: stream::Config,
    replicas: bool,
    what: &'static str,
) -> Result<stream::Stream> {
    let name = desired.name.clone();
    match js.get_stream(&name).await {
        Ok(stream)
            if same_limits(&stream.cached_info().config, &desired)
                && (!replicas || stream.cached_info().config.num_replicas == desired.num_replicas) =>
        {
            Ok(stream)
        }
        Ok(stream) => {
            if !replicas {
                desired.num_replicas = stream.cached_info().config.num_replicas;
            }
            js.update_stream(desired).await.map_err(|e| Error::nats(what, e))?;
            js.get_stream(&name).await.map_err(|e| Error::nats(what, e))
        }
        Err(_) => js.create_stream(desired).await.map_err(|e| Error::nats(what, e)),
    }
}

/// Whether a stream has the subjects and limits shipfn sets.
fn same_limits(have: &stream::Config, want: &stream::Config) -> bool {
    have.subjects == want.subjects
        && have.retention == want.retention
        && have.storage == want.storage
        && have.duplicate_window == want.duplicate_window
        && have.max_bytes == want.max_bytes
        && have.max_age == want.max_age
        && have.discard == want.discard
}

/// Puts `bytes` under `name` unless the bucket has exactly these bytes
/// there (the server's record of the object's SHA-256 says so); how many
/// bytes were sent. Anything else under that name is replaced.
pub async fn put_once(bucket: &object_store::ObjectStore, name: &str, bytes: &[u8]) -> Result<usize> {
    if let Ok(info) = bucket.info(name).await
        && info.size == bytes.len()
        && info.digest.as_deref() == Some(object_digest(bytes).as_str())
    {
        return Ok(0);
    }
    let mut reader = bytes;
    bucket.put(name, &mut reader).await.map_err(|e| Error::nats("uploading to the object store", e))?;
    Ok(bytes.len())
}

/// The Object Store's record of an object's digest: `SHA-256=` and the
/// URL-safe base64 of the SHA-256 of its bytes.
fn object_digest(bytes: &[u8]) -> String {
    use base64::Engine;
    format!("SHA-256={}", base64::engine::general_purpose::URL_SAFE.encode(shipfn_host::sha256(bytes)))
}

/// The object `name`, if it is at most `max` bytes. `Ok(None)` if the
/// bucket does not have it.
pub async fn get_object(
    bucket: &object_store::ObjectStore,
    name: &str,
    max: usize,
) -> std::result::Result<Option<Vec<u8>>, String> {
    let mut object = match bucket.get(name).await {
        Ok(object) => object,
        Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if object.info().size > max {
        return Err(format!("{name} is {} bytes, over the limit of {max}", object.info().size));
    }
    let mut bytes = Vec::with_capacity(object.info().size);
    (&mut object).take(max as u64 + 1).read_to_end(&mut bytes).await.map_err(|e| e.to_string())?;
    if bytes.len() > max {
        return Err(format!("{name} is over the limit of {max} bytes"));
    }
    Ok(Some(bytes))
}

/// Awaits `attempt` until it succeeds or `patience` has passed, backing off
/// between tries: for publishes and acks across a server restart.
pub async fn retry<T, E: std::fmt::Display, F, Fut>(
    patience: Duration,
    mut attempt: F,
) -> std::result::Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, E>>,
{
    let start = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if start.elapsed() >= patience => return Err(e.to_string()),
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}
