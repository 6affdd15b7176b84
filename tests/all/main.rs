//! End-to-end tests: real guest crates built to wasm, the real `shipfn`
//! binary, and receivers that are separate processes from the sender.

mod captures;
mod cli;
mod embedding;
mod failures;
mod globals;
mod golden;
mod harness;
mod hostile;
mod lean;
mod macros;
mod map;
mod nats;
mod nats_attacks;
mod nats_auth;
mod nats_cluster;
mod nats_logins;
mod returned;
mod seed;
mod signing;
mod structure;
mod thin;
