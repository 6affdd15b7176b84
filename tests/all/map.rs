//! `shipfn map`: on this machine's cores, and through a real NATS JetStream
//! server with real `shipfn worker` processes (killed, restarted).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{fails, pack_suite, shipfn, shipfn_in};
use crate::nats::{NatsServer, WorkerProcess};

/// The suite's `mapper(3)`: `x * 3`, an error below 0, a panic at 13.
pub(crate) fn mapper_inputs(n: usize) -> (String, Vec<String>) {
    let mut input = String::new();
    let mut expected = Vec::new();
    for i in 0..n {
        let (line, out) = match i {
            13 => ("[13]".to_owned(), r#"{"error":{"kind":"trap","message":"#.to_owned()),
            100 => ("oops".to_owned(), r#"{"error":{"kind":"bad_args","message":"the input is not JSON"#.to_owned()),
            200 => (
                r#"["a"]"#.to_owned(),
                r#"{"error":{"kind":"bad_args","message":"argument 1 `x` expects i64"#.to_owned(),
            ),
            300 => (
                "[-5]".to_owned(),
                r#"{"error":{"kind":"guest_error","message":"the function returned an error: -5 is negative"}}"#
                    .to_owned(),
            ),
            i => (format!("[{i}]"), format!("{{\"ok\":{}}}", i * 3)),
        };
        input.push_str(&line);
        input.push('\n');
        expected.push(out);
    }
    (input, expected)
}

/// Each output line is its expected line, or starts with it for errors.
#[track_caller]
pub(crate) fn assert_outputs(stdout: &str, expected: &[String]) {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), expected.len(), "one output line per input");
    for (i, (line, want)) in lines.iter().zip(expected).enumerate() {
        assert!(line.starts_with(want.as_str()), "input {i}: got {line}, want {want}…");
    }
}

/// Runs `shipfn ARGS` in `dir`, feeding `stdin`; fails the test after `limit`.
pub(crate) fn run_bounded(dir: &Path, args: &[&str], stdin: &str, limit: Duration) -> Output {
    Background::start(dir, args, stdin.to_owned()).finish(limit)
}

/// Runs `command`, feeding `stdin`; fails the test after `limit`.
pub(crate) fn run_command_bounded(command: std::process::Command, stdin: &str, limit: Duration) -> Output {
    Background::spawn(command, stdin.to_owned()).finish(limit)
}

#[test]
fn local_map_of_10000_inputs_is_in_order_and_bad_lines_are_error_lines() {
    let packed = pack_suite("mapper", &["3"]);
    let (input, expected) = mapper_inputs(10_000);
    let file = packed.file.to_str().unwrap();
    let out = run_bounded(packed.dir.path(), &["map", file, "--input", "-"], &input, Duration::from_secs(120));
    // Exit code of the first failure (input 13 panics: a trap), after every line.
    let stderr = fails(&out, 7, "4 of 10000 inputs failed; the first, input 14: trap: the guest panicked");
    assert!(stderr.contains("map: 10000 inputs, 9996 ok, 4 failed"), "{stderr}");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);

    // -o writes the same lines to a file; --jobs 1 gives the same order.
    std::fs::write(packed.dir.path().join("in.jsonl"), &input).unwrap();
    let out =
        shipfn_in(packed.dir.path(), &["map", file, "--input", "in.jsonl", "-o", "out.jsonl", "--jobs", "1", "-q"]);
    fails(&out, 7, "the first, input 14: trap: the guest panicked");
    assert!(out.stdout.is_empty());
    assert_outputs(&std::fs::read_to_string(packed.dir.path().join("out.jsonl")).unwrap(), &expected);

    // --fail-fast stops at the first failure, which is the last line.
    let out =
        run_bounded(packed.dir.path(), &["map", file, "--input", "-", "--fail-fast"], &input, Duration::from_secs(60));
    fails(&out, 7, "input 14: trap: the guest panicked");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected[..14]);
}

#[test]
fn local_map_success_and_usage_errors() {
    let packed = pack_suite("mapper", &["2"]);
    let file = packed.file.to_str().unwrap();
    let out =
        run_bounded(packed.dir.path(), &["map", file, "--input", "-"], "[1]\n[2]\r\n[3]", Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "{\"ok\":2}\n{\"ok\":4}\n{\"ok\":6}\n");
    // No inputs, no outputs, success.
    let out = run_bounded(packed.dir.path(), &["map", file, "--input", "-"], "", Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    fails(&shipfn_in(packed.dir.path(), &["map", file, "--input", "missing.jsonl"]), 3, "cannot read missing.jsonl");
    fails(&shipfn_in(packed.dir.path(), &["map", file]), 2, "--input");
    fails(&shipfn_in(packed.dir.path(), &["map", file, "--input", "-", "--jobs", "0"]), 2, "--jobs");

    // A number where a string is expected: the error line names it, without
    // the command line's advice on quoting an `--arg`.
    let greeter = pack_suite("greeter", &["\"hi\""]);
    let file = greeter.file.to_str().unwrap();
    let out =
        run_bounded(greeter.dir.path(), &["map", file, "--input", "-"], "[\"you\"]\n[5]\n", Duration::from_secs(60));
    let lines = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(lines.starts_with("{\"ok\":\"hi, you!\"}\n{\"error\":{\"kind\":\"bad_args\""), "{lines}");
    assert!(lines.contains("expected a string") && !lines.contains("quote"), "{lines}");
}

#[test]
fn local_map_streams_with_bounded_memory() {
    // 150 000 inputs of 1 KiB each (150 MiB in, as much out) through a pipe:
    // a map that held its inputs or outputs would pass 150 MiB of RSS.
    let packed = pack_suite("greeter", &["\"hi\""]);
    let peak_kib = peak_rss_of_streamed_map(&packed, &[], 150_000);
    assert!(peak_kib < 120 * 1024, "peak RSS {peak_kib} KiB for a streamed map");
}

#[test]
fn nats_map_streams_with_bounded_memory() {
    // The same through a server and two workers: the submitter holds the
    // tasks in flight (64 of 100 inputs), not the 150 MiB of inputs.
    let (server, _workers) = NatsServer::with_two_workers();
    let url = server.url();
    let packed = pack_suite("greeter", &["\"hi\""]);
    let peak_kib = peak_rss_of_streamed_map(&packed, &["--nats", &url], 150_000);
    assert!(peak_kib < 120 * 1024, "peak RSS {peak_kib} KiB for a streamed map");
}

/// Pipes `count` inputs of 1 KiB each into `shipfn map PACKAGE --input - ARGS`
/// as it reads them, checks that every output line comes out, and returns
/// the map's peak RSS in KiB.
fn peak_rss_of_streamed_map(packed: &crate::harness::Packed, args: &[&str], count: usize) -> u64 {
    let mut child = shipfn()
        .current_dir(packed.dir.path())
        .args(["map", packed.file.to_str().unwrap(), "--input", "-", "-q"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("shipfn starts");
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let line = format!("[\"{}\"]\n", "x".repeat(1024));
        for _ in 0..count {
            if stdin.write_all(line.as_bytes()).is_err() {
                return;
            }
        }
    });
    let mut stdout = child.stdout.take().unwrap();
    let counter = std::thread::spawn(move || {
        let (mut lines, mut buffer) = (0usize, vec![0u8; 1 << 16]);
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 {
                break;
            }
            lines += buffer[..n].iter().filter(|&&b| b == b'\n').count();
        }
        lines
    });
    let (mut peak_kib, deadline) = (0u64, Instant::now() + Duration::from_secs(300));
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the map did not finish in time");
        }
        if let Some(hwm) = vm_hwm_kib(pid) {
            peak_kib = peak_kib.max(hwm);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Exit 0: every input gave a result.
    assert_eq!(child.wait().unwrap().code(), Some(0), "the map failed");
    feeder.join().unwrap();
    assert_eq!(counter.join().unwrap(), count, "one output line per input");
    assert!(peak_kib > 0, "could not read the map's memory use");
    peak_kib
}

/// The process's peak resident set (Linux).
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn nats_map_of_10000_inputs_with_two_workers_is_exactly_once_and_in_order() {
    let (server, _workers) = NatsServer::with_two_workers();
    let url = server.url();
    let packed = pack_suite("mapper", &["3"]);
    let (input, expected) = mapper_inputs(10_000);
    let file = packed.file.to_str().unwrap();
    let args = ["map", file, "--input", "-", "--nats", &url];
    let out = run_bounded(packed.dir.path(), &args, &input, Duration::from_secs(180));
    let stderr = fails(&out, 7, "4 of 10000 inputs failed; the first, input 14: trap: the guest panicked");
    assert!(stderr.contains("100 tasks"), "{stderr}");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);

    // The module and package travel once: a second map uploads nothing.
    let out = run_bounded(packed.dir.path(), &args, &input, Duration::from_secs(180));
    let stderr = fails(&out, 7, "the first, input 14: trap: the guest panicked");
    assert!(stderr.contains("uploaded 0 B to the object store"), "{stderr}");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
}

/// `fib(n)` inputs, milliseconds each: a map of a thousand lasts seconds.
pub(crate) fn fib_inputs(n: usize) -> (String, Vec<String>) {
    fn fib(n: u64) -> u64 {
        let (mut a, mut b) = (0u64, 1u64);
        for _ in 0..n {
            (a, b) = (b, a + b);
        }
        a
    }
    let mut input = String::new();
    let mut expected = Vec::new();
    for i in 0..n {
        let k = 24 + (i % 3) as u64;
        input.push_str(&format!("[{k}]\n"));
        expected.push(format!("{{\"ok\":{}}}", fib(k)));
    }
    (input, expected)
}

/// A NATS map of 1 000 `fib` inputs in tasks of 10, once 50 lines are out:
/// its package (kept for the map's life), the expected lines, the map.
fn fib_map_under_way(url: &str) -> (crate::harness::Packed, Vec<String>, Background) {
    let packed = pack_suite("fib_from", &["0"]);
    let (input, expected) = fib_inputs(1000);
    let file = packed.file.to_str().unwrap();
    let map =
        Background::start(packed.dir.path(), &["map", file, "--input", "-", "--nats", url, "--batch", "10"], input);
    map.wait_for_lines(50, Duration::from_secs(120));
    (packed, expected, map)
}

/// `shipfn map` in the background, its output lines counted as they come,
/// so that a test can interfere in the middle of the batch.
pub(crate) struct Background {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stdout: std::thread::JoinHandle<Vec<u8>>,
    feeder: std::thread::JoinHandle<()>,
}

impl Background {
    pub(crate) fn start(dir: &Path, args: &[&str], input: String) -> Background {
        let mut command = shipfn();
        command.current_dir(dir).args(args);
        Background::spawn(command, input)
    }

    fn spawn(mut command: std::process::Command, input: String) -> Background {
        let mut child =
            command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("shipfn starts");
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let lines = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (mut out, counted) = (child.stdout.take().unwrap(), lines.clone());
        let stdout = std::thread::spawn(move || {
            let (mut all, mut buffer) = (Vec::new(), [0u8; 4096]);
            while let Ok(n) = out.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                let new = buffer[..n].iter().filter(|&&b| b == b'\n').count();
                counted.fetch_add(new, std::sync::atomic::Ordering::SeqCst);
                all.extend_from_slice(&buffer[..n]);
            }
            all
        });
        Background { child, lines, stdout, feeder }
    }

    /// Waits until `n` lines are out (the map is under way), within `limit`.
    pub(crate) fn wait_for_lines(&self, n: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.lines.load(std::sync::atomic::Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "the map wrote fewer than {n} lines in {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn lines_so_far(&self) -> usize {
        self.lines.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn finish(mut self, limit: Duration) -> Output {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("shipfn map did not finish within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = Vec::new();
        let _ = self.child.stderr.take().expect("stderr").read_to_end(&mut stderr);
        self.feeder.join().unwrap();
        Output { status, stdout: self.stdout.join().unwrap(), stderr }
    }
}

#[test]
fn nats_map_survives_a_worker_killed_mid_batch() {
    let server = NatsServer::start();
    let url = server.url();
    let mut doomed = WorkerProcess::start(&url, &[]);
    let _survivor = WorkerProcess::start(&url, &[]);
    // Both workers hold tasks from the start until the queue runs dry.
    let (_packed, expected, map) = fib_map_under_way(&url);
    doomed.kill();
    assert!(map.lines_so_far() < 1000, "the map ended before the worker was killed");
    let out = map.finish(Duration::from_secs(240));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("run again after their first worker was lost"), "no task was redelivered: {stderr}");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
}

/// Waits up to `limit` for `child` to exit.
fn exit_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "the worker did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_worker_stopped_by_sigterm_mid_batch_finishes_what_it_holds_and_exits_0() {
    let server = NatsServer::start();
    let url = server.url();
    let mut leaving = WorkerProcess::start(&url, &[]);
    let _staying = WorkerProcess::start(&url, &[]);
    let (_packed, expected, map) = fib_map_under_way(&url);
    let pid = leaving.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = exit_within(&mut leaving.0, Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "the worker's exit on SIGTERM");
    assert!(map.lines_so_far() < 1000, "the map ended before the worker was stopped");
    let out = map.finish(Duration::from_secs(240));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
}

#[test]
fn a_worker_leaves_a_server_entering_lame_duck_mode_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.conf");
    std::fs::write(&config, "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"1s\"\n").unwrap();
    let server = NatsServer::start_with(&["-c", config.to_str().unwrap()]);
    let mut worker = shipfn()
        .args(["worker", "--nats", &server.url()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(worker.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
    assert!(line.contains("taking tasks"), "{line}");
    server.signal("ldm");
    let status = exit_within(&mut worker, Duration::from_secs(15));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("the server entered lame duck mode"), "{rest}");
}

#[test]
fn nats_map_survives_a_server_restart_mid_batch() {
    let (mut server, _workers) = NatsServer::with_two_workers();
    let url = server.url();
    let (_packed, expected, map) = fib_map_under_way(&url);
    assert!(map.lines_so_far() < 1000, "the map ended before the server was stopped");
    server.restart(Duration::from_secs(1));
    let out = map.finish(Duration::from_secs(240));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(" 0 ok"), "{stderr}");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
}

#[test]
fn a_nats_map_waits_for_a_worker_that_starts_late_and_says_so() {
    let server = NatsServer::start();
    let url = server.url();
    let packed = pack_suite("mapper", &["2"]);
    let file = packed.file.to_str().unwrap();
    let input: String = (0..300).map(|i| format!("[{i}]\n")).collect();
    let map = Background::start(packed.dir.path(), &["map", file, "--input", "-", "--nats", &url], input);
    std::thread::sleep(Duration::from_secs(12));
    assert_eq!(map.lines_so_far(), 0);
    let _worker = WorkerProcess::start(&url, &[]);
    let out = map.finish(Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 tasks are queued and no worker has taken one for 10 s; is a worker running?"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let want: Vec<String> = (0..300)
        .map(|i| match i {
            13 => r#"{"error":{"kind":"trap""#.to_owned(),
            i => format!("{{\"ok\":{}}}", i * 2),
        })
        .collect();
    assert_outputs(&stdout, &want);
}

#[test]
fn a_trusting_worker_answers_an_unsigned_package_with_untrusted_per_input() {
    let server = NatsServer::start();
    let url = server.url();
    let packed = pack_suite("mapper", &["3"]);
    let dir = packed.dir.path();
    crate::harness::ok(&shipfn_in(dir, &["keygen", "-o", "alice"]));
    let key = dir.join("alice.pub");
    let _worker = WorkerProcess::start(&url, &["--trust", key.to_str().unwrap()]);
    let file = packed.file.to_str().unwrap();
    let out =
        run_bounded(dir, &["map", file, "--input", "-", "--nats", &url], "[1]\n[2]\n[3]\n", Duration::from_secs(120));
    fails(&out, 11, "3 of 3 inputs failed; the first, input 1: untrusted");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 3);
    for line in stdout.lines() {
        assert!(
            line.starts_with(r#"{"error":{"kind":"untrusted","message":"untrusted package: the package is not signed"#),
            "{line}"
        );
    }
}

#[test]
fn a_task_past_its_delivery_limit_is_an_error_line_for_each_of_its_inputs() {
    let server = NatsServer::start();
    let url = server.url();
    // One delivery per task: the tasks a killed worker held are never run
    // again, so they reach their limit and must still be reported.
    let mut doomed = WorkerProcess::start(&url, &["--max-deliver", "1"]);
    let (_packed, expected, map) = fib_map_under_way(&url);
    doomed.kill();
    let written = map.lines_so_far();
    assert!(written < 1000, "the map ended before the worker was killed");
    let _next = WorkerProcess::start(&url, &["--max-deliver", "1"]);
    let out = map.finish(Duration::from_secs(240));
    let stderr = fails(&out, 1, "given up after their delivery limit");
    assert!(stderr.contains("internal: the task holding this input was delivered 1 time without a result"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1000, "one line per input");
    let given_up = r#"{"error":{"kind":"internal","message":"the task holding this input was delivered 1 time"#;
    let mut lost = 0;
    for (task, chunk) in lines.chunks(10).enumerate() {
        // A task's inputs fail together or not at all.
        if chunk[0].starts_with(given_up) {
            assert!(task * 10 >= written, "task {task} was written before the kill, then given up");
            assert!(chunk.iter().all(|line| line.starts_with(given_up)), "task {task}: {chunk:?}");
            lost += 1;
        } else {
            for (i, line) in chunk.iter().enumerate() {
                assert_eq!(*line, expected[task * 10 + i], "input {}", task * 10 + i);
            }
        }
    }
    assert!(lost > 0, "no task was given up: {stderr}");
    assert!(stderr.contains(&format!(", {lost} given up after their delivery limit")), "{stderr}");
}

#[test]
fn two_namespaces_on_one_server_keep_their_work_apart() {
    let server = NatsServer::start();
    let url = server.url();
    let _alpha = WorkerProcess::start(&url, &["--namespace", "alpha"]);
    let _beta = WorkerProcess::start(&url, &["--namespace", "beta"]);
    let (doubler, tripler) = (pack_suite("mapper", &["2"]), pack_suite("mapper", &["3"]));
    let input: String = (0..400).map(|i| format!("[{}]\n", i + 20)).collect();
    let map = |packed: &crate::harness::Packed, namespace: &str| {
        let file = packed.file.to_str().unwrap().to_owned();
        let args = ["map", &file, "--input", "-", "--nats", &url, "--batch", "10", "--namespace", namespace];
        Background::start(packed.dir.path(), &args, input.clone())
    };
    // Both at once: a task taken in the wrong namespace would answer with
    // the other factor.
    let (alpha, beta) = (map(&doubler, "alpha"), map(&tripler, "beta"));
    for (out, k) in [(alpha.finish(Duration::from_secs(120)), 2), (beta.finish(Duration::from_secs(120)), 3)] {
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let expected: Vec<String> = (0..400).map(|i| format!("{{\"ok\":{}}}", (i + 20) * k)).collect();
        assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
    }
    // Each namespace has its own streams; the default one was never made.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(url.as_str()).await.unwrap());
        for (stream, exists) in [("ALPHA_TASKS", true), ("BETA_RESULTS", true), ("SHIPFN_TASKS", false)] {
            assert_eq!(js.get_stream(stream).await.is_ok(), exists, "{stream}");
        }
    });
    let out = shipfn_in(
        doubler.dir.path(),
        &["map", doubler.file.to_str().unwrap(), "--input", "-", "--namespace", "a.b", "--nats", &url],
    );
    fails(&out, 2, "is not a namespace");
}
