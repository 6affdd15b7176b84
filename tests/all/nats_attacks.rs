//! A hostile client on the NATS server, written with `async-nats`, beside an
//! honest `shipfn map --nats` and real `shipfn worker` processes: every
//! output line is right or an error, never a value no trusted worker
//! computed from that input.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use futures_util::StreamExt;
use shipfn_format::{Form, VerifiedPackage, sha256};

use crate::harness::{fails, hex, ok, pack_suite, shipfn_in};
use crate::map::{Background, assert_outputs, mapper_inputs, run_bounded};
use crate::nats::{NatsServer, WorkerProcess};

/// An attack running on its own thread until dropped; `count` is how many
/// messages it sent.
struct Attacker {
    stop: Arc<AtomicBool>,
    count: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Attacker {
    fn spawn<F, Fut>(url: &str, attack: F) -> Attacker
    where
        F: FnOnce(async_nats::Client, Arc<AtomicBool>, Arc<AtomicU64>) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let (stop, count) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let (url, stop2, count2) = (url.to_owned(), stop.clone(), count.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let client = async_nats::connect(url).await.expect("the attacker connects");
                let _ = ready_tx.send(());
                attack(client, stop2, count2).await;
            });
        });
        ready_rx.recv_timeout(Duration::from_secs(20)).expect("the attacker is connected");
        Attacker { stop, count, thread: Some(thread) }
    }

    fn sent(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The next message of `sub`, or `None` after 100 ms (to check for stop).
async fn next_or_tick(sub: &mut async_nats::Subscriber) -> Option<async_nats::Message> {
    tokio::time::timeout(Duration::from_millis(100), sub.next()).await.ok().flatten()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.as_str())
}

/// A task's digest, computed as anyone who reads the task can: the binding
/// alone cannot stop such a client, which is what worker keys are for.
fn task_digest(job: &str, batch: u64, package: &str, inputs: &[u8]) -> [u8; 32] {
    let mut message = b"shipfn task v1\0".to_vec();
    for part in [job.as_bytes(), package.as_bytes()] {
        message.extend_from_slice(&(part.len() as u64).to_le_bytes());
        message.extend_from_slice(part);
    }
    message.extend_from_slice(&batch.to_le_bytes());
    message.extend_from_slice(inputs);
    sha256(&message)
}

/// A forged result for a task: `{"ok":"forged"}` per input, with the headers a
/// real result carries (the task's batch, count, digest and the message id
/// that results used to have) and a signature that is not a worker's.
fn forged_result(job: &str, batch: u64, count: u64, digest: &[u8; 32], signer: &str) -> (HeaderMap, bytes::Bytes) {
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", format!("{job}.{batch}").as_str());
    headers.insert("Shipfn-Batch", batch.to_string().as_str());
    headers.insert("Shipfn-Count", count.to_string().as_str());
    headers.insert("Shipfn-Delivery", "1");
    headers.insert("Shipfn-Task", hex(digest).as_str());
    headers.insert("Shipfn-Part", "0/1");
    headers.insert("Shipfn-Run", "1");
    headers.insert("Shipfn-Signer", signer);
    headers.insert("Shipfn-Signature", "ab".repeat(64).as_str());
    let payload = vec![r#"{"ok":"forged"}"#; count as usize].join("\n");
    (headers, payload.into())
}

#[test]
fn results_forged_on_every_task_are_ignored_when_the_map_trusts_worker_keys() {
    let server = NatsServer::start();
    let url = server.url();
    let packed = pack_suite("mapper", &["3"]);
    let dir = packed.dir.path();
    ok(&shipfn_in(dir, &["keygen", "-o", "worker"]));
    let public = std::fs::read_to_string(dir.join("worker.pub")).unwrap();
    let signer = public.split_whitespace().nth(1).unwrap().to_owned();
    // It reads every task and answers it first, before any worker runs.
    let forger = Attacker::spawn(&url, move |client, stop, count| async move {
        let js = async_nats::jetstream::new(client.clone());
        let mut tasks = client.subscribe("shipfn.tasks.>").await.unwrap();
        while !stop.load(Ordering::SeqCst) {
            let Some(task) = next_or_tick(&mut tasks).await else { continue };
            let Some(headers) = task.headers.as_ref() else { continue };
            let job = task.subject.as_str().strip_prefix("shipfn.tasks.").unwrap().to_owned();
            let batch: u64 = header(headers, "Shipfn-Batch").unwrap().parse().unwrap();
            let n: u64 = header(headers, "Shipfn-Count").unwrap().parse().unwrap();
            let digest = task_digest(&job, batch, header(headers, "Shipfn-Package").unwrap(), &task.payload);
            let (headers, payload) = forged_result(&job, batch, n, &digest, &signer);
            if let Ok(ack) = js.publish_with_headers(format!("shipfn.results.{job}"), headers, payload).await {
                let _ = ack.await;
                count.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let (input, expected) = mapper_inputs(1000);
    let file = packed.file.to_str().unwrap();
    let key_pub = dir.join("worker.pub");
    let args =
        ["map", file, "--input", "-", "--nats", &url, "--batch", "10", "--trust-worker", key_pub.to_str().unwrap()];
    let map = Background::start(dir, &args, input);
    let deadline = Instant::now() + Duration::from_secs(60);
    while forger.sent() < 20 {
        assert!(Instant::now() < deadline, "the forger answered no tasks");
        std::thread::sleep(Duration::from_millis(20));
    }
    let key = dir.join("worker");
    let _worker = WorkerProcess::start(&url, &["--key", key.to_str().unwrap()]);
    let out = map.finish(Duration::from_secs(180));
    // Inputs 13, 100, 200 and 300 fail by design (see mapper_inputs); every
    // other line is the worker's right answer.
    let stderr = fails(&out, 7, "4 of 1000 inputs failed; the first, input 14: trap: the guest panicked");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("forged"));
    assert!(stderr.contains("ignored") && stderr.contains("not signed by a trusted worker"), "{stderr}");
    assert!(!stderr.contains("no --trust-worker key"), "{stderr}");
    drop(forger);
}

#[test]
fn replayed_and_prepublished_results_are_refused_by_their_binding() {
    let server = NatsServer::start();
    let url = server.url();
    // Results published before a task exists (for the batches it guesses),
    // and real results replayed as the results of other tasks and jobs.
    let replayer = Attacker::spawn(&url, |client, stop, count| async move {
        let js = async_nats::jetstream::new(client.clone());
        let mut tasks = client.subscribe("shipfn.tasks.>").await.unwrap();
        let mut results = client.subscribe("shipfn.results.>").await.unwrap();
        let mut jobs_seen = std::collections::HashSet::new();
        while !stop.load(Ordering::SeqCst) {
            tokio::select! {
                task = tasks.next() => {
                    let Some(task) = task else { break };
                    let job = task.subject.as_str().strip_prefix("shipfn.tasks.").unwrap().to_owned();
                    if jobs_seen.insert(job.clone()) {
                        for batch in 0..100u64 {
                            let (headers, payload) = forged_result(&job, batch, 10, &[7; 32], "00");
                            if js.publish_with_headers(format!("shipfn.results.{job}"), headers, payload).await.is_ok() {
                                count.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                }
                result = results.next() => {
                    let Some(result) = result else { break };
                    let Some(headers) = result.headers.clone() else { continue };
                    let Some(batch) = header(&headers, "Shipfn-Batch").and_then(|b| b.parse::<u64>().ok()) else { continue };
                    let job = result.subject.as_str().strip_prefix("shipfn.results.").unwrap().to_owned();
                    for (to_batch, to_job) in [(batch + 1, job.clone()), (batch + 2, job.clone())] {
                        let mut copy = headers.clone();
                        copy.insert("Shipfn-Batch", to_batch.to_string().as_str());
                        copy.insert("Nats-Msg-Id", format!("{to_job}.{to_batch}.replay").as_str());
                        if js.publish_with_headers(format!("shipfn.results.{to_job}"), copy, result.payload.clone()).await.is_ok() {
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    });
    let packed = pack_suite("mapper", &["3"]);
    // Other inputs than the map's: a replayed result would be a wrong value.
    let (input, expected) = mapper_inputs(1000);
    let file = packed.file.to_str().unwrap();
    let map =
        Background::start(packed.dir.path(), &["map", file, "--input", "-", "--nats", &url, "--batch", "10"], input);
    std::thread::sleep(Duration::from_secs(2));
    let _worker = WorkerProcess::start(&url, &[]);
    let out = map.finish(Duration::from_secs(180));
    let stderr = fails(&out, 7, "4 of 1000 inputs failed; the first, input 14: trap: the guest panicked");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
    assert!(replayer.sent() > 100, "the attack sent {} messages", replayer.sent());
    assert!(stderr.contains("ignored") && stderr.contains("result messages not bound to their task"), "{stderr}");
    // Without worker keys, the map says what it trusts.
    assert!(stderr.contains("no --trust-worker key: results are taken from any client of the server"), "{stderr}");
}

/// Publishes a task message on `shipfn.tasks.JOB` with `headers`.
async fn publish_task(js: &async_nats::jetstream::Context, job: &str, headers: HeaderMap, payload: &str) {
    js.publish_with_headers(format!("shipfn.tasks.{job}"), headers, payload.to_owned().into())
        .await
        .expect("published")
        .await
        .expect("stored");
}

#[test]
fn unreadable_tasks_poisoned_names_and_forged_advisories_do_not_harm_a_real_map() {
    let server = NatsServer::start();
    let url = server.url();
    let _worker = WorkerProcess::start(&url, &[]);
    let packed = pack_suite("mapper", &["3"]);
    let bytes = std::fs::read(&packed.file).unwrap();
    // The name the map will give its package: its thin form's SHA-256.
    let thin = VerifiedPackage::from_bytes(&bytes).unwrap().into_package().encode_as(Form::Thin, None);
    let name = format!("package-{}", hex(&sha256(&thin)));

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (client, bad_job) = runtime.block_on(async {
        let client = async_nats::connect(url.clone()).await.unwrap();
        let js = async_nats::jetstream::new(client.clone());
        // Wait for the worker to set up the streams and the bucket.
        let deadline = Instant::now() + Duration::from_secs(30);
        let bucket = loop {
            if let Ok(bucket) = js.get_object_store("shipfn").await {
                break bucket;
            }
            assert!(Instant::now() < deadline, "the worker did not set up the bucket");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let mut results = client.subscribe("shipfn.results.0badjob0").await.unwrap();
        let headers = |pairs: &[(&str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, *v);
            }
            h
        };
        // A task naming the package before it exists, then other bytes under its name.
        publish_task(&js, "0badjob0", headers(&[("Shipfn-Batch", "0"), ("Shipfn-Package", &name)]), "[1]").await;
        // Tasks that cannot be run: no batch, no package, not a package name.
        publish_task(&js, "0badjob0", headers(&[("Shipfn-Package", &name)]), "[1]").await;
        publish_task(&js, "0badjob0", headers(&[("Shipfn-Batch", "1")]), "[1]").await;
        publish_task(&js, "0badjob0", headers(&[("Shipfn-Batch", "2"), ("Shipfn-Package", "../../etc")]), "[1]").await;
        publish_task(&js, "not.a.job", headers(&[("Shipfn-Batch", "3")]), "\u{0}\u{1}").await;
        // The worker answers the three that name the job with an error each.
        let mut answered = Vec::new();
        while answered.len() < 3 {
            let message = tokio::time::timeout(Duration::from_secs(30), results.next())
                .await
                .expect("the worker answered the bad tasks")
                .unwrap();
            answered.push(String::from_utf8_lossy(&message.payload).into_owned());
        }
        assert!(answered.iter().all(|a| a.contains("bad_package")), "{answered:?}");
        let mut garbage: &[u8] = b"not the package";
        bucket.put(name.as_str(), &mut garbage).await.unwrap();
        (client, "0badjob0")
    });
    let _ = bad_job;

    // Advisories that every task went past its delivery limit, all map long.
    let advisor = Attacker::spawn(&url, |client, stop, count| async move {
        while !stop.load(Ordering::SeqCst) {
            for seq in 1..300u64 {
                let advisory = serde_json::json!({
                    "type": "io.nats.jetstream.advisory.v1.max_deliver",
                    "stream": "SHIPFN_TASKS", "consumer": "shipfn-workers", "stream_seq": seq, "deliveries": 5,
                });
                let _ = client
                    .publish(
                        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.SHIPFN_TASKS.shipfn-workers",
                        advisory.to_string().into(),
                    )
                    .await;
                count.fetch_add(1, Ordering::SeqCst);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let (input, expected) = mapper_inputs(1000);
    let file = packed.file.to_str().unwrap();
    let args = ["map", file, "--input", "-", "--nats", &url, "--batch", "10"];
    let out = run_bounded(packed.dir.path(), &args, &input, Duration::from_secs(180));
    let stderr = fails(&out, 7, "4 of 1000 inputs failed; the first, input 14: trap: the guest panicked");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
    assert!(!stderr.contains("given up"), "{stderr}");
    assert!(advisor.sent() > 0);
    drop(advisor);

    // Nothing was left in the queue to be delivered again.
    runtime.block_on(async {
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream("SHIPFN_TASKS").await.unwrap();
        let info = stream.info().await.unwrap();
        assert_eq!(info.state.messages, 0, "tasks left in the queue: {:?}", info.state);
        let consumer: async_nats::jetstream::consumer::PullConsumer =
            stream.get_consumer("shipfn-workers").await.unwrap();
        let info = consumer.cached_info();
        assert_eq!(info.num_redelivered, 0, "a bad task was delivered again");
    });
}

#[test]
fn a_task_consumer_deleted_mid_map_is_set_up_again() {
    let server = NatsServer::start();
    let url = server.url();
    let _worker = WorkerProcess::start(&url, &[]);
    let packed = pack_suite("fib_from", &["0"]);
    let input: String = (0..1000).map(|i| format!("[{}]\n", 24 + i % 3)).collect();
    let file = packed.file.to_str().unwrap();
    let map =
        Background::start(packed.dir.path(), &["map", file, "--input", "-", "--nats", &url, "--batch", "10"], input);
    map.wait_for_lines(50, Duration::from_secs(120));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(url.clone()).await.unwrap());
        js.delete_consumer_from_stream("shipfn-workers", "SHIPFN_TASKS").await.expect("deleted");
    });
    let deleted = Instant::now();
    let out = map.finish(Duration::from_secs(120));
    ok(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1000);
    assert!(deleted.elapsed() < Duration::from_secs(60), "the map took {:?} after the delete", deleted.elapsed());
    runtime.block_on(async {
        let js = async_nats::jetstream::new(async_nats::connect(url.clone()).await.unwrap());
        let stream = js.get_stream("SHIPFN_TASKS").await.unwrap();
        let consumer: Result<async_nats::jetstream::consumer::PullConsumer, _> =
            stream.get_consumer("shipfn-workers").await;
        assert!(consumer.is_ok(), "the task consumer was not set up again");
    });
}

#[test]
fn a_task_whose_results_exceed_the_servers_message_limit_completes() {
    let server = NatsServer::start();
    let url = server.url();
    let _worker = WorkerProcess::start(&url, &[]);
    let packed = pack_suite("bytes", &[]);
    // 100 inputs of 20 000 bytes each: about 4 MB of output per task.
    let input = "[20000]\n".repeat(100);
    let file = packed.file.to_str().unwrap();
    let out = run_bounded(
        packed.dir.path(),
        &["map", file, "--input", "-", "--nats", &url],
        &input,
        Duration::from_secs(180),
    );
    let stdout = ok(&out);
    let local = run_bounded(packed.dir.path(), &["map", file, "--input", "-"], &input, Duration::from_secs(180));
    assert_eq!(stdout, ok(&local), "the NATS map answers as the local one");
    assert_eq!(stdout.lines().count(), 100);
    assert!(stdout.len() > 4_000_000, "{} bytes", stdout.len());
}

/// The process's resident set now (Linux).
fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process is running");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_workers_package_cache_keeps_to_its_byte_budget() {
    let server = NatsServer::start();
    let url = server.url();
    let worker = WorkerProcess::start(&url, &["--package-cache", "24MiB"]);
    let mut after = Vec::new();
    // Three packages of 20 MiB of state each: at most one fits the budget.
    for megabytes in ["20", "21", "22"] {
        let packed = pack_suite("big_state", &[megabytes]);
        let file = packed.file.to_str().unwrap();
        let out = run_bounded(
            packed.dir.path(),
            &["map", file, "--input", "-", "--nats", &url],
            "[]\n[]\n",
            Duration::from_secs(120),
        );
        assert_eq!(ok(&out).lines().count(), 2);
        std::thread::sleep(Duration::from_millis(300));
        after.push(vm_rss_kib(worker.0.id()));
    }
    // Three packages kept would hold 63 MiB of states; the budget keeps one.
    let growth = after[2].saturating_sub(after[0]);
    assert!(growth < 16 << 10, "the worker grew by {growth} KiB over two more large packages: {after:?} KiB");
}

/// Publishes `count` task messages whose header block has a line without a
/// colon, over a raw connection (the client library cannot write them).
fn publish_malformed_headers(port: u16, count: usize) {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut info = [0u8; 4096];
    let _ = tcp.read(&mut info).unwrap();
    tcp.write_all(b"CONNECT {\"verbose\":false,\"headers\":true,\"protocol\":1}\r\n").unwrap();
    for i in 0..count {
        let header = b"NATS/1.0\r\nShipfn-Batch\r\n\r\n";
        let payload = b"[1]";
        let line = format!("HPUB shipfn.tasks.bad{i} {} {}\r\n", header.len(), header.len() + payload.len());
        tcp.write_all(&[line.as_bytes(), header, payload, b"\r\n"].concat()).unwrap();
    }
    tcp.write_all(b"PING\r\n").unwrap();
    let mut pong = [0u8; 64];
    let n = tcp.read(&mut pong).unwrap();
    assert!(String::from_utf8_lossy(&pong[..n]).contains("PONG"), "the server took the messages");
}

#[test]
fn malformed_header_blocks_cost_a_concurrent_map_little() {
    let server = NatsServer::start();
    let url = server.url();
    let _worker = WorkerProcess::start(&url, &[]);
    let packed = pack_suite("mapper", &["3"]);
    let file = packed.file.to_str().unwrap();
    let (input, expected) = mapper_inputs(20_000);
    let args = ["map", file, "--input", "-", "--nats", &url];
    // Warm: the module is shipped and compiled.
    run_bounded(packed.dir.path(), &args, &input, Duration::from_secs(120));
    let started = Instant::now();
    run_bounded(packed.dir.path(), &args, &input, Duration::from_secs(120));
    let clean = started.elapsed();
    // Each such message drops the worker's connection when delivered,
    // before shipfn sees it; the worker pulls again once reconnected
    // (waiting for missed heartbeats instead cost about 10 s).
    publish_malformed_headers(server.port(), 3);
    let started = Instant::now();
    let out = run_bounded(packed.dir.path(), &args, &input, Duration::from_secs(120));
    let attacked = started.elapsed();
    fails(&out, 7, "4 of 20000 inputs failed; the first, input 14: trap: the guest panicked");
    assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
    assert!(attacked < clean * 2 + Duration::from_secs(3), "{attacked:?} with the messages, {clean:?} without");
}
