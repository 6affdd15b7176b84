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
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipfn-service"))
        .args(["--listen", "127.0.0.1:0", "--timeout", "1s"])
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
