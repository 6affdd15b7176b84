//! What binds a result to its task, and who vouches for it.
//!
//! A task's digest covers its job, its batch number, the package object it
//! names and its exact input bytes. A worker's result names that digest, so
//! a result of another task, another job or another package is refused by
//! the submitter, whoever sent it. Binding cannot tell a worker from any
//! other client that read the task; a worker's Ed25519 signature can, and a
//! submitter given trusted worker keys accepts only results signed by one
//! of them.
//!
//! A result travels in one or more parts (a result larger than the server's
//! message limit is cut), each signed on its own with its run, its place
//! and the task's digest; the parts of one run are joined in order.

use async_nats::HeaderMap;
use shipfn_host::{Hash, PublicKey, SecretKey, sha256};

/// Header of a result: the hex digest of the task it answers.
pub const TASK: &str = "Shipfn-Task";
/// Header of a result: `index/parts` of this part (`0/1` for a whole result).
pub const PART: &str = "Shipfn-Part";
/// Header of a result: which run of the task the part belongs to (random
/// per run, so that parts of two runs are never joined).
pub const RUN: &str = "Shipfn-Run";
/// Header of a signed result: the worker's public key, hex.
pub const SIGNER: &str = "Shipfn-Signer";
/// Header of a signed result: the Ed25519 signature, hex.
pub const SIGNATURE: &str = "Shipfn-Signature";

/// The most parts a result may have: 4096 parts of a 1 MiB server limit is
/// 4 GiB, far beyond what a submitter would hold.
pub const MAX_PARTS: u32 = 4096;

const TASK_CONTEXT: &[u8] = b"shipfn task v1\0";
const RESULT_CONTEXT: &[u8] = b"shipfn result v1\0";

/// The digest of a task: job, batch, package object and inputs.
pub fn task_digest(job: &str, batch: u64, package: &str, inputs: &[u8]) -> Hash {
    let mut message = Vec::with_capacity(TASK_CONTEXT.len() + job.len() + package.len() + inputs.len() + 24);
    message.extend_from_slice(TASK_CONTEXT);
    for part in [job.as_bytes(), package.as_bytes()] {
        message.extend_from_slice(&(part.len() as u64).to_le_bytes());
        message.extend_from_slice(part);
    }
    message.extend_from_slice(&batch.to_le_bytes());
    message.extend_from_slice(inputs);
    sha256(&message)
}

/// One part of a result, as its headers describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// The task's digest.
    pub task: Hash,
    /// Which run of the task.
    pub run: u64,
    /// This part's place, from 0.
    pub index: u32,
    /// How many parts the result has.
    pub parts: u32,
    /// How many outcomes the whole result holds.
    pub count: u64,
}

impl Part {
    /// What a signature of this part covers: the part's description and
    /// the digest of its payload.
    fn signed_message(&self, payload: &[u8]) -> Vec<u8> {
        let mut message = Vec::with_capacity(32 + 8 + 4 + 4 + 8 + 32);
        message.extend_from_slice(&self.task);
        message.extend_from_slice(&self.run.to_le_bytes());
        message.extend_from_slice(&self.index.to_le_bytes());
        message.extend_from_slice(&self.parts.to_le_bytes());
        message.extend_from_slice(&self.count.to_le_bytes());
        message.extend_from_slice(&sha256(payload));
        message
    }

    /// Writes this part's headers, signed with `key` if there is one. The
    /// message id covers the signature and the payload, so the server
    /// drops a retried publish of this very message and nothing else: a
    /// forged part with a copied id cannot push out a real one.
    pub fn write_headers(
        &self,
        headers: &mut HeaderMap,
        job: &str,
        batch: u64,
        payload: &[u8],
        key: Option<&SecretKey>,
    ) {
        headers.insert(TASK, hex::encode(self.task).as_str());
        headers.insert(RUN, self.run.to_string().as_str());
        headers.insert(PART, format!("{}/{}", self.index, self.parts).as_str());
        let mut id_input = Vec::with_capacity(64 + 32);
        if let Some(key) = key {
            let signature = key.sign_with_context(RESULT_CONTEXT, &self.signed_message(payload));
            headers.insert(SIGNER, key.public().to_string().as_str());
            headers.insert(SIGNATURE, hex::encode(signature).as_str());
            id_input.extend_from_slice(&signature);
        }
        id_input.extend_from_slice(&sha256(payload));
        let id = hex::encode(&sha256(&id_input)[..16]);
        headers.insert("Nats-Msg-Id", format!("{job}.{batch}.{}.{}.{id}", self.run, self.index).as_str());
    }

    /// Reads a part's description from a result's headers: `None` if any is
    /// missing or malformed. The count is the `Shipfn-Count` header's.
    pub fn read(headers: &HeaderMap, count_header: &str) -> Option<Part> {
        let text = |name: &str| headers.get(name).map(|v| v.as_str());
        let mut task = [0; 32];
        hex::decode_to_slice(text(TASK)?, &mut task).ok()?;
        let (index, parts) = text(PART)?.split_once('/')?;
        let (index, parts): (u32, u32) = (index.parse().ok()?, parts.parse().ok()?);
        if parts == 0 || parts > MAX_PARTS || index >= parts {
            return None;
        }
        Some(Part { task, run: text(RUN)?.parse().ok()?, index, parts, count: text(count_header)?.parse().ok()? })
    }

    /// Whether the part's signature is that of one of `trusted` over this
    /// part and `payload`.
    pub fn signed_by_one_of(&self, headers: &HeaderMap, payload: &[u8], trusted: &[PublicKey]) -> bool {
        let text = |name: &str| headers.get(name).map(|v| v.as_str());
        let (Some(signer), Some(signature)) = (text(SIGNER), text(SIGNATURE)) else { return false };
        let (mut key, mut sig) = ([0; 32], [0; 64]);
        if hex::decode_to_slice(signer, &mut key).is_err() || hex::decode_to_slice(signature, &mut sig).is_err() {
            return false;
        }
        let Some(signer) = trusted.iter().find(|k| *k.as_bytes() == key) else { return false };
        signer.verify_with_context(RESULT_CONTEXT, &self.signed_message(payload), &sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part() -> Part {
        Part { task: task_digest("job", 3, "package-ab", b"[1]\n[2]"), run: 7, index: 0, parts: 2, count: 2 }
    }

    #[test]
    fn a_signed_part_verifies_only_as_itself() {
        let key = SecretKey::from_seed([5; 32]);
        let other = SecretKey::from_seed([6; 32]);
        let mut headers = HeaderMap::new();
        headers.insert("Shipfn-Count", "2");
        part().write_headers(&mut headers, "job", 3, b"10\n", Some(&key));
        let read = Part::read(&headers, "Shipfn-Count").expect("readable");
        assert_eq!(read, part());
        assert!(read.signed_by_one_of(&headers, b"10\n", &[key.public()]));
        assert!(!read.signed_by_one_of(&headers, b"11\n", &[key.public()]), "another payload");
        assert!(!read.signed_by_one_of(&headers, b"10\n", &[other.public()]), "an untrusted signer");
        let moved = Part { index: 1, ..read };
        assert!(!moved.signed_by_one_of(&headers, b"10\n", &[key.public()]), "another place");
        let other_task = Part { task: task_digest("job", 4, "package-ab", b"[1]\n[2]"), ..read };
        assert!(!other_task.signed_by_one_of(&headers, b"10\n", &[key.public()]), "another task");
    }

    #[test]
    fn task_digests_differ_in_every_field() {
        let base = task_digest("job", 1, "package-a", b"[1]");
        assert_ne!(base, task_digest("jo", 1, "bpackage-a", b"[1]"));
        assert_ne!(base, task_digest("job", 2, "package-a", b"[1]"));
        assert_ne!(base, task_digest("job", 1, "package-b", b"[1]"));
        assert_ne!(base, task_digest("job", 1, "package-a", b"[2]"));
    }

    #[test]
    fn message_ids_differ_between_signed_and_unsigned_copies() {
        let key = SecretKey::from_seed([5; 32]);
        let id = |key: Option<&SecretKey>| {
            let mut headers = HeaderMap::new();
            part().write_headers(&mut headers, "job", 3, b"10\n", key);
            headers.get("Nats-Msg-Id").unwrap().as_str().to_owned()
        };
        assert_eq!(id(Some(&key)), id(Some(&key)), "a retried publish keeps its id");
        assert_ne!(id(Some(&key)), id(None));
    }
}
