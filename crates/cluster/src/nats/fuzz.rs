//! What a hostile client of the server can send: task messages to workers
//! and result messages to submitters, read as they read them. The fuzz
//! targets and quick tests in `crates/fuzz` drive this.

use std::collections::BTreeMap;

use async_nats::HeaderMap;
use async_nats::header::{HeaderName, HeaderValue};
use bytes::Bytes;
use shipfn_host::{PublicKey, SecretKey};

use super::proof::{self, Part};
use super::submit::{Pending, Taken, take_part};
use super::wire;
use super::worker::read_task;

/// A message as the client hands it over: subject, headers, payload.
struct Message {
    subject: String,
    headers: Option<HeaderMap>,
    payload: Bytes,
}

/// `data` read as a message: the subject, the header lines (`Name: value`;
/// lines the client would refuse to parse are left out, since it drops the
/// connection for them before any of our code runs) and the payload, split
/// at the first two NUL bytes.
fn message(data: &[u8]) -> Message {
    let mut parts = data.splitn(3, |&b| b == 0);
    let subject = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let block = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let payload = Bytes::copy_from_slice(parts.next().unwrap_or_default());
    let mut headers = HeaderMap::new();
    let mut any = false;
    for line in block.split('\n') {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (Ok(name), Ok(value)) = (name.trim().parse::<HeaderName>(), value.trim().parse::<HeaderValue>()) else {
            continue;
        };
        headers.insert(name, value);
        any = true;
    }
    Message { subject, headers: any.then_some(headers), payload }
}

const JOB: &str = "0123456789abcdef";
const PACKAGE: &str = "package-00";

/// Tasks 0..4 of [`JOB`], of 1 to 4 inputs `[1]`.
fn pending() -> BTreeMap<u64, Pending> {
    (0..4u64)
        .map(|batch| {
            let count = batch as usize + 1;
            let inputs = vec!["[1]"; count].join("\n");
            (batch, Pending::new(count, proof::task_digest(JOB, batch, PACKAGE, inputs.as_bytes())))
        })
        .collect()
}

/// The worker key the fuzzed submitter trusts.
fn worker_key() -> SecretKey {
    SecretKey::from_seed([7; 32])
}

/// The worker key's public half, derived once per process (deriving it
/// is a scalar multiplication).
fn worker_public() -> PublicKey {
    static PUBLIC: std::sync::OnceLock<PublicKey> = std::sync::OnceLock::new();
    *PUBLIC.get_or_init(|| worker_key().public())
}

/// Reads `data` as a task (as a worker does) and as a result (as a
/// submitter does, trusting no key and then one key). Panics, as a fuzzer's
/// finding, if a result that no trusted worker signed completes a task
/// when keys are trusted, or if a completed task has other than one
/// outcome per input.
pub fn hostile_message(data: &[u8]) {
    let Message { subject, headers, payload } = message(data);
    if let Some(task) = read_task(&super::Namespace::default(), &subject, headers.as_ref(), &payload) {
        assert!(wire::valid_job(&task.job), "a task of job {:?} was read", task.job);
        assert_eq!(task.lines.len(), String::from_utf8_lossy(&payload).split('\n').count());
    }
    for trusted in [Vec::new(), vec![worker_public()]] {
        let mut tasks = pending();
        let taken = take_part(&mut tasks, headers.as_ref(), &payload, &trusted);
        assert!(
            trusted.is_empty() || taken != Taken::Completed,
            "a result no trusted worker signed completed a task: {headers:?}"
        );
        check_counts(&tasks);
    }
}

/// An honest, signed result of task `data[0] % 4`, in one or two parts,
/// whose headers and payload `data` then edits: the submitter (trusting
/// the worker's key) completes the task only with the worker's outcomes.
/// Whether it completed the task.
pub fn edited_result(data: &[u8]) -> bool {
    let Some((&choice, edits)) = data.split_first() else { return false };
    let batch = u64::from(choice % 4);
    let split = choice & 0x10 != 0;
    let (body, honest) = &signed_results()[batch as usize][usize::from(split)];
    let mut messages = honest.clone();
    edit(&mut messages, edits);
    let mut tasks = pending();
    let mut completed = false;
    for (headers, payload) in &messages {
        completed |= take_part(&mut tasks, Some(headers), payload, &[worker_public()]) == Taken::Completed;
    }
    // Whatever was edited, a completed task holds the worker's own outcomes.
    if completed {
        let honest: Vec<_> = body.split('\n').map(|line| crate::parse_line(line).expect("an outcome line")).collect();
        assert_eq!(tasks[&batch].outcomes(), Some(&honest[..]), "an edited result was taken");
    }
    check_counts(&tasks);
    completed
}

/// A result's body and the messages that carry it.
type Signed = (String, Vec<(HeaderMap, Bytes)>);

/// The honest result of each task, whole and in two parts, signed once per
/// process (signing does not depend on the input): `[batch][split]` holds
/// the result's body and its signed messages.
fn signed_results() -> &'static [[Signed; 2]; 4] {
    static SIGNED: std::sync::OnceLock<[[Signed; 2]; 4]> = std::sync::OnceLock::new();
    SIGNED.get_or_init(|| {
        std::array::from_fn(|batch| std::array::from_fn(|split| signed_result(batch as u64, split == 1)))
    })
}

/// Task `batch`'s honest result (every input `{"ok":2}`), signed by the
/// worker's key: whole, or cut in two parts.
fn signed_result(batch: u64, split: bool) -> Signed {
    let count = batch as usize + 1;
    let inputs = vec!["[1]"; count].join("\n");
    let task = proof::task_digest(JOB, batch, PACKAGE, inputs.as_bytes());
    let body = vec!["{\"ok\":2}"; count].join("\n");
    let cut = if split { body.len() / 2 } else { body.len() };
    let chunks = if cut < body.len() { vec![&body[..cut], &body[cut..]] } else { vec![&body[..]] };
    let key = worker_key();
    let messages = chunks
        .iter()
        .enumerate()
        .map(|(index, chunk)| {
            let part = Part { task, run: 5, index: index as u32, parts: chunks.len() as u32, count: count as u64 };
            let mut headers = HeaderMap::new();
            headers.insert(wire::BATCH, batch.to_string().as_str());
            headers.insert(wire::COUNT, count.to_string().as_str());
            part.write_headers(&mut headers, JOB, batch, chunk.as_bytes(), Some(&key));
            (headers, Bytes::copy_from_slice(chunk.as_bytes()))
        })
        .collect();
    (body, messages)
}

/// Edits `messages` as `edits` says: a header replaced, a payload byte
/// changed or cut, a part dropped or repeated.
fn edit(messages: &mut Vec<(HeaderMap, Bytes)>, edits: &[u8]) {
    const NAMES: [&str; 8] = [
        wire::BATCH,
        wire::COUNT,
        proof::TASK,
        proof::PART,
        proof::RUN,
        proof::SIGNER,
        proof::SIGNATURE,
        "Nats-Msg-Id",
    ];
    for chunk in edits.chunks(4) {
        if messages.is_empty() {
            return;
        }
        let [op, which, a, b] =
            [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0), *chunk.get(3).unwrap_or(&0)];
        let (at, len) = (usize::from(which) % messages.len(), messages.len());
        match op % 6 {
            0 => {
                let headers = &mut messages[at].0;
                let name = NAMES[usize::from(a) % NAMES.len()];
                let old = headers.get(name).map(|v| v.as_str().to_owned()).unwrap_or_default();
                let mut value = old.into_bytes();
                if value.is_empty() {
                    value.push(b'0');
                }
                let i = usize::from(b) % value.len();
                value[i] = b"0123456789abcdef/"[usize::from(b) % 17];
                headers.insert(name, String::from_utf8_lossy(&value).as_ref());
            }
            1 if !messages[at].1.is_empty() => {
                let mut bytes = messages[at].1.to_vec();
                let i = usize::from(a) % bytes.len();
                bytes[i] ^= b | 1;
                messages[at].1 = bytes.into();
            }
            2 => {
                let payload = &mut messages[at].1;
                *payload = payload.slice(..usize::from(a).min(payload.len()));
            }
            3 => {
                messages.remove(at);
            }
            4 => {
                let copy = messages[at].clone();
                messages.push(copy);
            }
            _ => messages.swap(at, usize::from(a) % len),
        }
    }
}

/// A completed task has exactly one outcome per input.
fn check_counts(tasks: &BTreeMap<u64, Pending>) {
    for (batch, task) in tasks {
        if let Some(outcomes) = task.outcomes() {
            assert_eq!(outcomes.len(), *batch as usize + 1, "task {batch} completed with the wrong count");
        }
    }
}
