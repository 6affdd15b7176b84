//! What a worker counts, for Prometheus: tasks and inputs by outcome, call
//! time, tasks in flight, packages loaded, modules fetched and compiled,
//! redeliveries, connection state.
//! Encoded by `prometheus-client` in the OpenMetrics text format.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::Outcome;

type Labels = Vec<(&'static str, &'static str)>;

/// A worker's metrics; cheap to clone (the counters are shared).
#[derive(Clone)]
pub struct WorkerMetrics {
    registry: Arc<Registry>,
    tasks: Family<Labels, Counter>,
    inputs: Family<Labels, Counter>,
    task_seconds: Histogram,
    in_flight: Gauge,
    packages_loaded: Counter,
    modules_fetched: Counter,
    modules_compiled: Counter,
    compiled_seen: Arc<std::sync::atomic::AtomicU64>,
    redeliveries: Counter,
    connected: Gauge,
    client: Arc<std::sync::OnceLock<async_nats::Client>>,
}

impl std::fmt::Debug for WorkerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkerMetrics")
    }
}

impl Default for WorkerMetrics {
    fn default() -> WorkerMetrics {
        let mut registry = Registry::with_prefix("shipfn_worker");
        let tasks = Family::<Labels, Counter>::default();
        registry.register("tasks", "Tasks answered, by outcome (ok, or failed when any input failed)", tasks.clone());
        let inputs = Family::<Labels, Counter>::default();
        registry.register("inputs", "Inputs run, by outcome kind (ok or the error kind)", inputs.clone());
        let task_seconds = Histogram::new(exponential_buckets(0.0001, 4.0, 12));
        registry.register("task_seconds", "Time to run one task's calls", task_seconds.clone());
        let in_flight = Gauge::default();
        registry.register("tasks_in_flight", "Tasks being run now", in_flight.clone());
        let packages_loaded = Counter::default();
        registry.register(
            "packages_loaded",
            "Packages fetched and loaded (their modules compiled if new)",
            packages_loaded.clone(),
        );
        let modules_fetched = Counter::default();
        registry.register(
            "modules_fetched",
            "Modules fetched from the object store for thin packages",
            modules_fetched.clone(),
        );
        let modules_compiled = Counter::default();
        registry.register("modules_compiled", "Modules compiled from their wasm", modules_compiled.clone());
        let redeliveries = Counter::default();
        registry.register(
            "redeliveries",
            "Tasks received that an earlier delivery did not finish",
            redeliveries.clone(),
        );
        let connected = Gauge::default();
        registry.register("connected", "1 while connected to the NATS server", connected.clone());
        WorkerMetrics {
            registry: Arc::new(registry),
            tasks,
            inputs,
            task_seconds,
            in_flight,
            packages_loaded,
            modules_fetched,
            modules_compiled,
            compiled_seen: Arc::default(),
            redeliveries,
            connected,
            client: Arc::default(),
        }
    }
}

impl WorkerMetrics {
    /// The metrics in the OpenMetrics text format (what `/metrics` serves).
    pub fn encode(&self) -> String {
        self.connected.set(i64::from(self.is_connected()));
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }

    /// Whether the worker is connected to its server now.
    pub fn is_connected(&self) -> bool {
        self.client.get().is_some_and(|c| c.connection_state() == async_nats::connection::State::Connected)
    }

    pub(crate) fn watch(&self, client: async_nats::Client) {
        let _ = self.client.set(client);
    }

    pub(crate) fn task_started(&self, delivery: Option<i64>) {
        self.in_flight.inc();
        if delivery.is_some_and(|n| n > 1) {
            self.redeliveries.inc();
        }
    }

    pub(crate) fn task_done(&self, outcomes: &[Outcome], took: Duration) {
        self.in_flight.dec();
        self.task_seconds.observe(took.as_secs_f64());
        let failed = outcomes.iter().any(Result::is_err);
        self.tasks.get_or_create(&vec![("outcome", if failed { "failed" } else { "ok" })]).inc();
        for outcome in outcomes {
            let kind = match outcome {
                Ok(_) => "ok",
                Err(failure) => failure.kind.name(),
            };
            self.inputs.get_or_create(&vec![("kind", kind)]).inc();
        }
    }

    pub(crate) fn package_loaded(&self) {
        self.packages_loaded.inc();
    }

    pub(crate) fn module_fetched(&self) {
        self.modules_fetched.inc();
    }

    /// The host has compiled `total` modules since it was made.
    pub(crate) fn modules_compiled(&self, total: u64) {
        let seen = self.compiled_seen.fetch_max(total, std::sync::atomic::Ordering::Relaxed);
        if total > seen {
            self.modules_compiled.inc_by(total - seen);
        }
    }
}
