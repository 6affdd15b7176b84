//! Ten thousand inputs over two workers under each way of logging in and
//! of using TLS, and a worker killed mid-batch under mutual TLS: every
//! input once, in order, and no secret on the screen.

use std::path::Path;
use std::time::Duration;

use crate::harness::{fails, pack_suite};
use crate::map::{Background, assert_outputs, fib_inputs, mapper_inputs, run_bounded};
use crate::nats::{NatsServer, WorkerProcess};
use crate::nats_auth::certificates;

const PASSWORD: &str = "pw-for-10k";

/// A server started with `server`, two workers and a 10 000-input map that
/// log in with `client`: the map's standard error.
fn ten_thousand(server: &[&str], scheme: &str, client: &[&str]) -> String {
    let server = NatsServer::start_with(server);
    let url = format!("{scheme}://127.0.0.1:{}", server.port());
    let _workers = [WorkerProcess::start(&url, client), WorkerProcess::start(&url, client)];
    let packed = pack_suite("mapper", &["3"]);
    let (input, expected) = mapper_inputs(10_000);
    let file = packed.file.to_str().unwrap();
    let args = [&["map", file, "--input", "-", "--nats", &url][..], client].concat();
    let out = run_bounded(packed.dir.path(), &args, &input, Duration::from_secs(180));
    let stderr = fails(&out, 7, "4 of 10000 inputs failed; the first, input 14: trap: the guest panicked");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
    stderr
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_owned()
}

#[test]
fn ten_thousand_inputs_over_two_workers_with_a_password() {
    let stderr =
        ten_thousand(&["--user", "alice", "--pass", PASSWORD], "nats", &["--user", "alice", "--password", PASSWORD]);
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

#[test]
fn ten_thousand_inputs_over_two_workers_with_an_nkey() {
    let dir = tempfile::tempdir().unwrap();
    let user = nkeys::KeyPair::new_user();
    let seed = user.seed().unwrap();
    let config = dir.path().join("server.conf");
    std::fs::write(&config, format!("authorization {{ users = [ {{ nkey: \"{}\" }} ] }}\n", user.public_key()))
        .unwrap();
    let nkey = dir.path().join("user.nk");
    std::fs::write(&nkey, format!("{seed}\n")).unwrap();
    let stderr = ten_thousand(&["-c", config.to_str().unwrap()], "nats", &["--nkey", nkey.to_str().unwrap()]);
    assert!(!stderr.contains(&seed), "{stderr}");
}

#[test]
fn ten_thousand_inputs_over_two_workers_with_tls() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let server =
        ["--tls", "--tlscert", &path(dir.path(), "server.pem"), "--tlskey", &path(dir.path(), "server-key.pem")];
    ten_thousand(&server, "tls", &["--tlsca", &path(dir.path(), "ca.pem")]);
}

/// The server's options for mutual TLS, and a client's.
fn mutual_tls(dir: &Path) -> (Vec<String>, Vec<String>) {
    certificates(dir);
    let server =
        ["--tls", "--tlscert", "server.pem", "--tlskey", "server-key.pem", "--tlsverify", "--tlscacert", "ca.pem"];
    let client = ["--tlsca", "ca.pem", "--tlscert", "client.pem", "--tlskey", "client-key.pem"];
    let in_dir =
        |args: &[&str]| args.iter().map(|a| if a.ends_with(".pem") { path(dir, a) } else { a.to_string() }).collect();
    (in_dir(&server), in_dir(&client))
}

#[test]
fn ten_thousand_inputs_over_two_workers_with_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client) = mutual_tls(dir.path());
    let server: Vec<&str> = server.iter().map(String::as_str).collect();
    let client: Vec<&str> = client.iter().map(String::as_str).collect();
    ten_thousand(&server, "tls", &client);
}

#[test]
fn under_mutual_tls_a_worker_killed_mid_batch_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, client) = mutual_tls(dir.path());
    let server: Vec<&str> = server.iter().map(String::as_str).collect();
    let client: Vec<&str> = client.iter().map(String::as_str).collect();
    let server = NatsServer::start_with(&server);
    let url = format!("tls://127.0.0.1:{}", server.port());
    let mut doomed = WorkerProcess::start(&url, &client);
    let _survivor = WorkerProcess::start(&url, &client);
    let packed = pack_suite("fib_from", &["0"]);
    let (input, expected) = fib_inputs(1000);
    let file = packed.file.to_str().unwrap();
    let args = [&["map", file, "--input", "-", "--nats", &url, "--batch", "10"][..], &client].concat();
    let map = Background::start(packed.dir.path(), &args, input);
    map.wait_for_lines(50, Duration::from_secs(120));
    doomed.kill();
    let out = map.finish(Duration::from_secs(240));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("run again after their first worker was lost"), "no task was redelivered: {stderr}");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
}
