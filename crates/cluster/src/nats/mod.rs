//! Many machines through one NATS JetStream server, with its own primitives:
//! an Object Store bucket for modules and packages (each shipped once, by
//! SHA-256), a WorkQueue stream of tasks read by one durable pull consumer
//! that every worker shares (explicit acks, an ack wait, a delivery limit,
//! progress acks), and a stream of results that de-duplicates by task.

mod connect;
#[doc(hidden)]
pub mod fuzz;
mod metrics;
mod names;
mod proof;
mod submit;
mod wire;
mod worker;

use std::time::Duration;

pub use connect::{Auth, Tls};
pub use metrics::WorkerMetrics;
pub use names::Namespace;
pub use submit::{JobStats, Nats};
pub use worker::{Ended, Worker};

/// How to reach the server and how tasks are cut and delivered. Workers and
/// submitters of one server should agree on the delivery settings: whoever
/// creates the task consumer first sets them (a worker updates them).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NatsConfig {
    /// The server's URL, e.g. `nats://127.0.0.1:4222`, or several of a
    /// cluster's, separated by commas; without user information (see
    /// [`NatsConfig::new`]), so it may be shown.
    pub url: String,
    /// How this client authenticates.
    pub auth: Auth,
    /// How TLS is used.
    pub tls: Tls,
    /// Inputs per task message.
    pub batch: usize,
    /// Tasks a submitter keeps in flight (submitted, results not yet out).
    pub ahead: usize,
    /// How long a worker may hold a task without acking it (progress acks
    /// keep a long task alive) before it goes to another worker.
    pub ack_wait: Duration,
    /// How many times a task is delivered before it is given up, and its
    /// inputs reported as failed.
    pub max_deliver: i64,
    /// How long a submitter waits with tasks queued and none taken before
    /// it tells its [`on_idle`](Nats::on_idle) callback.
    pub idle_notice: Duration,
    /// Where on the server the streams, subjects, consumer and bucket are.
    pub namespace: Namespace,
    /// The prefix of this client's reply subjects (`_INBOX` by default): a
    /// user's own, so that permissions can keep other users from its replies.
    pub inbox_prefix: Option<String>,
    /// How many servers of a JetStream cluster keep each stream and the
    /// bucket: set on the ones this client creates, and brought to it on
    /// existing ones. `None`: 1 for new ones, existing ones as they are.
    pub replicas: Option<usize>,
}

impl NatsConfig {
    /// The defaults for the server at `url` (or the servers, comma-separated).
    /// User information in a URL (`nats://user:password@host`,
    /// `nats://token@host`) is taken out of it and used as the credentials
    /// (the client itself would ignore it).
    pub fn new(url: impl Into<String>) -> NatsConfig {
        let (url, auth) = connect::split_url(&url.into());
        NatsConfig {
            url,
            auth,
            tls: Tls::default(),
            batch: 100,
            ahead: 64,
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            idle_notice: Duration::from_secs(10),
            namespace: Namespace::default(),
            inbox_prefix: None,
            replicas: None,
        }
    }

    /// Streams and the bucket kept on `replicas` servers of a JetStream
    /// cluster (1 to 5; the server refuses more than it has).
    pub fn replicas(mut self, replicas: usize) -> NatsConfig {
        self.replicas = Some(replicas.clamp(1, 5));
        self
    }

    /// The server URLs: the comma-separated parts of [`NatsConfig::url`].
    pub fn urls(&self) -> Vec<&str> {
        self.url.split(',').map(str::trim).filter(|u| !u.is_empty()).collect()
    }

    /// Replies come to subjects under `prefix` instead of `_INBOX`.
    pub fn inbox_prefix(mut self, prefix: impl Into<String>) -> NatsConfig {
        self.inbox_prefix = Some(prefix.into());
        self
    }

    /// Works in `namespace`: submitters and workers meet only in the same one.
    pub fn namespace(mut self, namespace: Namespace) -> NatsConfig {
        self.namespace = namespace;
        self
    }

    /// Inputs per task message (at least 1).
    pub fn batch(mut self, inputs: usize) -> NatsConfig {
        self.batch = inputs.max(1);
        self
    }

    /// Tasks in flight per submitter (at least 1).
    pub fn ahead(mut self, tasks: usize) -> NatsConfig {
        self.ahead = tasks.max(1);
        self
    }

    /// The ack wait of the task consumer (at least 1 s).
    pub fn ack_wait(mut self, wait: Duration) -> NatsConfig {
        self.ack_wait = wait.max(Duration::from_secs(1));
        self
    }

    /// How long queued tasks may wait untaken before the submitter says so.
    pub fn idle_notice(mut self, wait: Duration) -> NatsConfig {
        self.idle_notice = wait;
        self
    }

    /// Authenticates with `auth` (replacing credentials from the URL).
    pub fn auth(mut self, auth: Auth) -> NatsConfig {
        self.auth = auth;
        self
    }

    /// Uses TLS as `tls` says.
    pub fn tls(mut self, tls: Tls) -> NatsConfig {
        self.tls = tls;
        self
    }

    /// The delivery limit of the task consumer (at least 1).
    pub fn max_deliver(mut self, times: i64) -> NatsConfig {
        self.max_deliver = times.max(1);
        self
    }
}
