//! The service over real HTTP on loopback: uploads, calls, errors, and
//! concurrent clients, against the real binary.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    start_with(&["--timeout", "1s"])
}

fn start_with(extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipfn-service"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the service starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    Server { url: format!("http://{addr}"), child }
}

fn golden(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn upload(server: &Server, bytes: &[u8]) -> (u16, Value) {
    let mut r = agent().put(format!("{}/packages", server.url)).send(bytes).unwrap();
    (r.status().as_u16(), r.body_mut().read_json().unwrap())
}

fn call(server: &Server, id: &str, args: Value) -> (u16, Value) {
    let mut r = agent()
        .post(format!("{}/packages/{id}/call", server.url))
        .header("content-type", "application/json")
        .send(json!({ "args": args }).to_string().as_bytes())
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_json().unwrap())
}

#[test]
fn upload_once_then_call_with_json() {
    let server = start();
    let seed = golden("seed-v1.fnpkg");
    let (status, body) = upload(&server, &seed);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["signature"], "fn(own_arg: i64) -> i64");
    let id = body["id"].as_str().unwrap().to_owned();
    let (status, again) = upload(&server, &seed);
    assert_eq!((status, &again["id"]), (200, &body["id"]), "stored by content hash");

    assert_eq!(call(&server, &id, json!([4])), (200, json!({ "result": 10 })));
    assert_eq!(call(&server, &id, json!([-10])), (200, json!({ "result": -4 })));

    let mut r = agent().get(format!("{}/packages/{id}", server.url)).call().unwrap();
    let info: Value = r.body_mut().read_json().unwrap();
    assert_eq!(info["captures"], json!([{ "name": "closure_arg", "type": "i64" }]));
}

#[test]
fn errors_are_http_statuses_with_their_kind() {
    let server = start();
    let (_, body) = upload(&server, &golden("checked-div-signed-v1.fnpkg"));
    let id = body["id"].as_str().unwrap().to_owned();

    let (status, body) = call(&server, &id, json!([0]));
    assert_eq!((status, body["kind"].as_str()), (422, Some("guest_error")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("cannot divide 7 by zero"));
    let (status, body) = call(&server, &id, json!(["x"]));
    assert_eq!((status, body["kind"].as_str()), (400, Some("bad_args")), "{body}");
    let (status, _) = call(&server, &id, json!([1, 2]));
    assert_eq!(status, 400);
    let (status, body) = call(&server, "0000", json!([1]));
    assert_eq!((status, body["kind"].as_str()), (404, Some("not_found")));

    let (status, body) = upload(&server, b"not a package");
    assert_eq!((status, body["kind"].as_str()), (422, Some("bad_package")), "{body}");
    let mut corrupt = golden("seed-v1.fnpkg");
    let n = corrupt.len();
    corrupt[n / 2] ^= 1;
    let (status, body) = upload(&server, &corrupt);
    assert_eq!(status, 422);
    assert!(body["error"].as_str().unwrap().contains("digest does not match"), "{body}");
}

#[test]
fn concurrent_clients_get_their_own_answers() {
    let server = start();
    let (_, body) = upload(&server, &golden("seed-v1.fnpkg"));
    let id = body["id"].as_str().unwrap().to_owned();
    std::thread::scope(|s| {
        for t in 0..8i64 {
            let (server, id) = (&server, &id);
            s.spawn(move || {
                for i in 0..40i64 {
                    let arg = t * 1000 + i;
                    assert_eq!(call(server, id, json!([arg])), (200, json!({ "result": arg + 6 })));
                }
            });
        }
    });
}

/// A test guest (`tests/guests/NAME`), built.
fn build_guest(name: &str) -> Vec<u8> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let toolchain = shipfn_build::Toolchain::detect().expect("the tests need a wasm32 toolchain");
    let options =
        shipfn_build::BuildOptions { target_dir: Some(repo.join("target/guests")), quiet: true, ..Default::default() };
    let wasm = shipfn_build::build(&repo.join("tests/guests").join(name), &toolchain, &options)
        .unwrap_or_else(|e| panic!("{name} builds: {e}"));
    std::fs::read(wasm).unwrap()
}

fn make(wasm: &[u8], maker: &str, args: &[&str]) -> Vec<u8> {
    let host = shipfn_host::Host::new(Default::default()).unwrap();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    host.make(wasm, maker, &args).unwrap().to_bytes()
}

/// The test guest suite, built once, and a maker of it packed.
fn suite_package(maker: &str, args: &[&str]) -> Vec<u8> {
    static WASM: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    make(WASM.get_or_init(|| build_guest("suite")), maker, args)
}

#[test]
fn a_guest_without_json_takes_its_own_structs_over_http() {
    let server = start();
    let alerter = make(&build_guest("lean"), "alerter", &["20", "30"]);
    let (status, body) = upload(&server, &alerter);
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let reading = json!({ "sensor": "s1", "celsius": 25, "ts": 3 });
    let (status, body) = call(&server, &id, json!([reading, [], null]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], json!({ "sensor": "s1", "fahrenheit": 77.0, "level": { "Warn": 5.0 }, "history": [] }));
    let (status, body) = call(&server, &id, json!([{ "sensor": "s1" }, [], null]));
    assert_eq!((status, &body["kind"]), (400, &json!("bad_args")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("missing field `celsius`"), "{body}");
}

/// The most memory the server's process has had resident, in bytes.
fn peak_rss(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[test]
fn a_large_result_is_sent_on_without_being_parsed() {
    let server = start_with(&["--max-result-mib", "80", "--max-memory-mib", "512", "--timeout", "20s"]);
    let (_, body) = upload(&server, &suite_package("bytes", &[]));
    let id = body["id"].as_str().unwrap().to_owned();
    // 32 Mi zero bytes: a 64 MiB JSON result.
    let mut r = agent()
        .post(format!("{}/packages/{id}/call", server.url))
        .header("content-type", "application/json")
        .send(json!({ "args": [32 << 20] }).to_string().as_bytes())
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.body_mut().with_config().limit(80 << 20).read_to_string().unwrap();
    assert!(text.starts_with("{\"result\":[0,0,") && text.ends_with("0]}"), "{}", &text[..40]);
    assert_eq!(text.len(), "{\"result\":[]}".len() + (32 << 20) * 2 - 1);
    // The guest's memory (the bytes and their JSON) and one host copy of the
    // result; parsing it into a JSON value took 2.2 GB.
    let peak = peak_rss(&server);
    assert!(peak < 700 << 20, "peak RSS {} MiB", peak >> 20);
    let (status, body) = call(&server, &id, json!([3]));
    assert_eq!((status, &body), (200, &json!({ "result": [0, 0, 0] })));
}

#[test]
fn call_bodies_are_bounded_and_unknown_ids_are_refused_before_the_body_is_read() {
    let server = start_with(&["--max-call-kib", "64"]);
    let (_, body) = upload(&server, &golden("seed-v1.fnpkg"));
    let id = body["id"].as_str().unwrap().to_owned();
    let huge = format!("{{\"args\": [\"{}\"]}}", "x".repeat(60 << 20));
    let send = |id: &str| {
        let r = agent().post(format!("{}/packages/{id}/call", server.url)).send(huge.as_bytes());
        r.map(|r| r.status().as_u16())
    };
    assert_eq!(send("0000").unwrap_or(404), 404);
    assert_eq!(send(&id).unwrap_or(413), 413);
    assert!(peak_rss(&server) < 200 << 20, "peak RSS {} MiB", peak_rss(&server) >> 20);
    assert_eq!(call(&server, &id, json!([4])), (200, json!({ "result": 10 })));
}

#[test]
fn stored_packages_are_bounded_least_recently_used_first() {
    let server = start_with(&["--max-stored-mib", "1"]);
    let packages: Vec<Vec<u8>> = ["1", "2", "3"].iter().map(|a| suite_package("linear", &[a])).collect();
    assert!(packages.iter().map(Vec::len).sum::<usize>() > 1 << 20, "three packages outgrow the budget");
    let ids: Vec<String> = packages.iter().map(|p| upload(&server, p).1["id"].as_str().unwrap().to_owned()).collect();
    let known = |id: &str| agent().get(format!("{}/packages/{id}", server.url)).call().unwrap().status().as_u16();
    assert_eq!(known(&ids[0]), 404, "the least recently used package was dropped");
    assert_eq!(known(&ids[2]), 200);
    assert_eq!(call(&server, &ids[2], json!([1, 2, 3])), (200, json!({ "result": 2 })));
    // Uploading it again brings it back.
    assert_eq!(upload(&server, &packages[0]).0, 201);
    assert_eq!(call(&server, &ids[0], json!([1, 2, 3])), (200, json!({ "result": 0 })));
}

#[test]
fn idle_connections_cannot_starve_a_real_call() {
    let server = start_with(&["--max-connections", "8", "--idle-timeout", "1s", "--header-timeout", "1s"]);
    let (_, body) = upload(&server, &golden("seed-v1.fnpkg"));
    let id = body["id"].as_str().unwrap().to_owned();
    let addr = server.url.trim_start_matches("http://").to_owned();
    // Many more idle sockets than the service serves at once, some having
    // sent half a request's headers.
    let idle: Vec<std::net::TcpStream> = (0..64)
        .map(|i| {
            let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
            if i % 2 == 0 {
                std::io::Write::write_all(&mut tcp, b"POST /packages/x/call HTTP/1.1\r\nHost: x\r\n").unwrap();
            }
            tcp
        })
        .collect();
    let started = std::time::Instant::now();
    assert_eq!(call(&server, &id, json!([4])), (200, json!({ "result": 10 })));
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
    drop(idle);
}

#[test]
fn stalled_uploads_are_bounded_in_bytes_across_connections() {
    use std::io::{Read, Write};
    let server = start_with(&["--max-uploading-mib", "2", "--max-package-mib", "2"]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    // Starts an upload of 2 000 000 bytes and sends 1 500 000 of them.
    let stall = || {
        let mut tcp = std::net::TcpStream::connect(&addr).unwrap();
        tcp.write_all(b"PUT /packages HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n").unwrap();
        tcp.write_all(&vec![b'x'; 1_500_000]).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        tcp
    };
    let first = stall();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // The second would pass the budget: refused at once, not buffered.
    let mut second = stall();
    let mut reply = [0u8; 64];
    let n = second.read(&mut reply).expect("the second upload is answered while the first stalls");
    let reply = String::from_utf8_lossy(&reply[..n]).into_owned();
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    drop(second);
    // What is left of the budget still serves a real upload.
    let (status, body) = upload(&server, &golden("seed-v1.fnpkg"));
    assert_eq!(status, 201, "{body}");
    drop(first);
}
