//! The embedded pool: threads of this process, one host, no server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use shipfn_host::{ErrorKind, Function, Host, PublicKey, VerifiedPackage};

use crate::outcome::call;
use crate::pace::Pace;
use crate::{Failure, Inputs, Outcome, Outcomes, Pool, Result};

/// How long the calls of one chunk of inputs should take: long enough that
/// handing a chunk to a thread and its outcomes back (two wake-ups) costs
/// little beside its calls, short enough that the threads finish a map
/// together.
const CHUNK_TIME: Duration = Duration::from_millis(2);

/// Inputs per chunk before any call has been timed.
const FIRST_CHUNK: usize = 4;

/// The most inputs in one chunk: bounds the inputs held, however fast the calls.
const MAX_CHUNK: usize = 256;

/// Chunks in flight per thread: how far ahead of the oldest unfinished
/// input the pool reads.
const CHUNKS_AHEAD_PER_THREAD: usize = 4;

/// Runs a closure over many inputs on threads of this process, each call on
/// a fresh instance of the host's pool.
#[derive(Clone)]
pub struct Local {
    host: Host,
    jobs: usize,
    trusted: Vec<PublicKey>,
}

impl Local {
    /// A pool on `host` with one thread per core.
    pub fn new(host: Host) -> Local {
        let jobs = std::thread::available_parallelism().map_or(1, usize::from);
        Local { host, jobs, trusted: Vec::new() }
    }

    /// Runs `jobs` calls at a time (at least one).
    pub fn jobs(mut self, jobs: usize) -> Local {
        self.jobs = jobs.max(1);
        self
    }

    /// Loads only packages signed by one of `keys` (none: any package).
    pub fn trust(mut self, keys: Vec<PublicKey>) -> Local {
        self.trusted = keys;
        self
    }

    /// How many calls run at a time.
    pub fn job_count(&self) -> usize {
        self.jobs
    }

    /// Runs `function` over `inputs`; the outcomes come in input order. A
    /// function that cannot be called with JSON at all (its guest has no
    /// JSON and a type the host does not convert) is refused before any input.
    pub fn map_function(&self, function: Function, inputs: Inputs) -> Result<Outcomes> {
        function.check_json()?;
        let (task_tx, task_rx) = mpsc::sync_channel::<(u64, Vec<String>)>(self.jobs);
        let (result_tx, result_rx) = mpsc::channel();
        let task_rx = Arc::new(Mutex::new(task_rx));
        let pace = Arc::new(Pace::default());
        for n in 0..self.jobs {
            let (function, task_rx, result_tx, pace) =
                (function.clone(), task_rx.clone(), result_tx.clone(), pace.clone());
            std::thread::Builder::new()
                .name(format!("shipfn-map-{n}"))
                .spawn(move || run_chunks(&function, &task_rx, &result_tx, &pace))?;
        }
        Ok(Box::new(Ordered {
            inputs,
            pace,
            ahead: (self.jobs * CHUNKS_AHEAD_PER_THREAD) as u64,
            tasks: Some(task_tx),
            results: result_rx,
            pending: BTreeMap::new(),
            ready: Vec::new().into_iter(),
            sent: 0,
            emitted: 0,
        }))
    }
}

impl Pool for Local {
    fn map(&self, package: Vec<u8>, inputs: Inputs) -> Result<Outcomes> {
        let package = VerifiedPackage::from_vec(package)?;
        let function = if self.trusted.is_empty() {
            self.host.load_package(package)?
        } else {
            self.host.load_trusted_package(package, &self.trusted)?
        };
        self.map_function(function, inputs)
    }
}

/// A thread of the pool: calls chunk after chunk until the pool is dropped
/// or the inputs run out.
fn run_chunks(
    function: &Function,
    tasks: &Mutex<mpsc::Receiver<(u64, Vec<String>)>>,
    results: &mpsc::Sender<(u64, Vec<Outcome>)>,
    pace: &Pace,
) {
    loop {
        let next = tasks.lock().map(|rx| rx.recv());
        let Ok(Ok((index, inputs))) = next else { return };
        let start = Instant::now();
        let outcomes = inputs.iter().map(|input| call(function, input)).collect();
        pace.record(start.elapsed(), inputs.len());
        if results.send((index, outcomes)).is_err() {
            return;
        }
    }
}

/// The outcomes in input order, reading inputs no further than `ahead`
/// chunks past the oldest one not yet yielded.
struct Ordered {
    inputs: Inputs,
    /// What a call costs, which sizes the chunks.
    pace: Arc<Pace>,
    ahead: u64,
    /// `None` once the inputs have run out: the threads end when it drops.
    tasks: Option<mpsc::SyncSender<(u64, Vec<String>)>>,
    results: mpsc::Receiver<(u64, Vec<Outcome>)>,
    pending: BTreeMap<u64, Vec<Outcome>>,
    ready: std::vec::IntoIter<Outcome>,
    sent: u64,
    emitted: u64,
}

impl Ordered {
    /// Hands out chunks until the window is full or the inputs run out.
    fn fill(&mut self) {
        while self.sent < self.emitted + self.ahead {
            let Some(tasks) = &self.tasks else { return };
            let len = self.pace.calls_in(CHUNK_TIME, FIRST_CHUNK, MAX_CHUNK);
            let chunk: Vec<String> = self.inputs.by_ref().take(len).collect();
            if chunk.is_empty() || tasks.send((self.sent, chunk)).is_err() {
                self.tasks = None;
                return;
            }
            self.sent += 1;
        }
    }
}

impl Iterator for Ordered {
    type Item = Outcome;

    fn next(&mut self) -> Option<Outcome> {
        loop {
            if let Some(outcome) = self.ready.next() {
                return Some(outcome);
            }
            self.fill();
            if self.emitted == self.sent {
                return None;
            }
            if let Some(outcomes) = self.pending.remove(&self.emitted) {
                self.ready = outcomes.into_iter();
                self.emitted += 1;
                continue;
            }
            match self.results.recv() {
                Ok((index, outcomes)) => {
                    self.pending.insert(index, outcomes);
                }
                // Every thread is gone with chunks unanswered: cannot happen
                // while calls are guarded, but never end a map short silently.
                Err(_) => {
                    self.sent = self.emitted;
                    self.tasks = None;
                    return Some(Err(Failure::new(ErrorKind::Internal, "the pool's threads stopped")));
                }
            }
        }
    }
}
