//! Any message a hostile NATS client can send, read as a task by a worker
//! and as a result by a submitter: never a panic, and never a result that
//! passes for a trusted worker's.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shipfn_fuzz::nats_message(data));
