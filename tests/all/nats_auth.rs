//! `map --nats` and `worker` against servers that require credentials, with
//! the nats CLI's flags, environment variables and URL user information;
//! clear, distinct, quick refusals; no secret on the screen.

use std::time::{Duration, Instant};

use crate::harness::{fails, ok, pack_suite, shipfn};
use crate::map::run_bounded;
use crate::nats::{NatsServer, WorkerProcess, http_get};

const PASSWORD: &str = "s3cret-pw";

#[test]
fn a_user_and_password_in_the_url_or_flags_reach_a_server_that_requires_them() {
    let server = NatsServer::start_with(&["--user", "alice", "--pass", PASSWORD]);
    let port = server.port();
    let _worker =
        WorkerProcess::start(&format!("nats://127.0.0.1:{port}"), &["--user", "alice", "--password", PASSWORD]);
    let packed = pack_suite("mapper", &["3"]);
    let file = packed.file.to_str().unwrap();
    let url = format!("nats://alice:{PASSWORD}@127.0.0.1:{port}");
    let out = run_bounded(
        packed.dir.path(),
        &["map", file, "--input", "-", "--nats", &url],
        "[1]\n[2]\n",
        Duration::from_secs(120),
    );
    assert_eq!(ok(&out), "{\"ok\":3}\n{\"ok\":6}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(PASSWORD), "{stderr}");
    assert!(stderr.contains(&format!("via nats://127.0.0.1:{port}")), "{stderr}");

    // A wrong password: refused at once with its own exit code, no secret shown.
    let started = Instant::now();
    let wrong = format!("nats://alice:wrong-pw@127.0.0.1:{port}");
    let out = run_bounded(
        packed.dir.path(),
        &["map", file, "--input", "-", "--nats", &wrong],
        "[1]\n",
        Duration::from_secs(60),
    );
    let stderr = fails(&out, 13, "refused the connection");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(!stderr.contains("wrong-pw") && !stderr.contains(PASSWORD), "{stderr}");
    // No credentials at all: refused too.
    let plain = format!("nats://127.0.0.1:{port}");
    let started = Instant::now();
    let out = run_bounded(
        packed.dir.path(),
        &["map", file, "--input", "-", "--nats", &plain],
        "[1]\n",
        Duration::from_secs(60),
    );
    fails(&out, 13, "authorization violation");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[test]
fn a_token_from_the_environment_reaches_a_server_that_requires_it() {
    let server = NatsServer::start_with(&["--auth", "t0ken-value"]);
    let url = format!("nats://127.0.0.1:{}", server.port());
    let worker = shipfn()
        .args(["worker", "--jobs", "1"])
        .env("NATS_URL", &url)
        .env("NATS_TOKEN", "t0ken-value")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the worker starts");
    let _worker = WorkerProcess(worker);
    let packed = pack_suite("mapper", &["3"]);
    let file = packed.file.to_str().unwrap();
    let mut map = shipfn();
    map.current_dir(packed.dir.path())
        .args(["map", file, "--input", "-", "--nats"])
        .env("NATS_URL", &url)
        .env("NATS_TOKEN", "t0ken-value");
    let out = crate::map::run_command_bounded(map, "[5]\n", Duration::from_secs(120));
    assert_eq!(ok(&out), "{\"ok\":15}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("t0ken-value"));
    // `--help` does not show the token taken from the environment.
    let help = shipfn().args(["map", "--help"]).env("NATS_TOKEN", "t0ken-value").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("NATS_TOKEN") && !help.contains("t0ken-value"), "{help}");
}

#[test]
fn a_server_that_cannot_be_reached_is_its_own_exit_code_within_seconds() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let packed = pack_suite("mapper", &["3"]);
    let file = packed.file.to_str().unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let started = Instant::now();
    let out = run_bounded(
        packed.dir.path(),
        &["map", file, "--input", "-", "--nats", &url],
        "[1]\n",
        Duration::from_secs(60),
    );
    fails(&out, 12, &format!("cannot reach the NATS server at {url}"));
    let out = shipfn().args(["worker", "--nats", &url]).output().unwrap();
    fails(&out, 12, "cannot reach the NATS server");
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
}

/// A CA, and a server certificate and a client certificate it signed (EC
/// P-256, for 127.0.0.1), made with the `openssl` command in `dir`.
pub(crate) fn certificates(dir: &std::path::Path) {
    let openssl = |args: &[&str]| {
        let out =
            std::process::Command::new("openssl").current_dir(dir).args(args).output().unwrap_or_else(|e| {
                panic!("the TLS tests need the openssl command (scripts/setup.sh installs it): {e}")
            });
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=shipfn test CA"],
        ]
        .concat(),
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    for name in ["server", "client"] {
        let (key, csr, pem) = (format!("{name}-key.pem"), format!("{name}.csr"), format!("{name}.pem"));
        openssl(&[&["req"][..], &ec, &["-keyout", &key, "-out", &csr, "-subj", &format!("/CN={name}")]].concat());
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
    }
}

#[test]
fn tls_with_a_trusted_ca_and_mutual_tls_work_and_an_untrusted_server_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    // The server requires TLS and a client certificate signed by the CA.
    let server = NatsServer::start_with(&[
        "--tls",
        "--tlscert",
        &path("server.pem"),
        "--tlskey",
        &path("server-key.pem"),
        "--tlsverify",
        "--tlscacert",
        &path("ca.pem"),
    ]);
    let url = format!("tls://127.0.0.1:{}", server.port());
    let client = ["--tlsca", &path("ca.pem"), "--tlscert", &path("client.pem"), "--tlskey", &path("client-key.pem")];
    let _worker = WorkerProcess::start(&url, &client);
    let packed = pack_suite("mapper", &["3"]);
    let file = packed.file.to_str().unwrap();
    let map = [&["map", file, "--input", "-", "--nats", &url][..], &client].concat();
    let out = run_bounded(packed.dir.path(), &map, "[2]\n", Duration::from_secs(120));
    assert_eq!(ok(&out), "{\"ok\":6}");

    let started = Instant::now();
    // Without the CA, the server's certificate is not trusted.
    let untrusted = [
        "map",
        file,
        "--input",
        "-",
        "--nats",
        &url,
        "--tlscert",
        &path("client.pem"),
        "--tlskey",
        &path("client-key.pem"),
    ];
    let out = run_bounded(packed.dir.path(), &untrusted, "[2]\n", Duration::from_secs(60));
    fails(&out, 13, "not trusted: give its CA with --tlsca");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    // Without a client certificate, the server refuses this client.
    let started = Instant::now();
    let no_client = ["map", file, "--input", "-", "--nats", &url, "--tlsca", &path("ca.pem")];
    let out = run_bounded(packed.dir.path(), &no_client, "[2]\n", Duration::from_secs(60));
    fails(&out, 13, "CertificateRequired");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[test]
fn a_user_without_permission_is_refused_naming_what_was_denied() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.conf");
    std::fs::write(
        &config,
        r#"authorization {
  users = [
    { user: limited, password: limited-pw, permissions: { publish: { allow: ["other.>"] }, subscribe: { allow: ["_INBOX.>"] } } }
  ]
}
"#,
    )
    .unwrap();
    let server = NatsServer::start_with(&["-c", config.to_str().unwrap()]);
    let url = format!("nats://limited:limited-pw@127.0.0.1:{}", server.port());
    let packed = pack_suite("mapper", &["3"]);
    let file = packed.file.to_str().unwrap();
    let started = Instant::now();
    let out = run_bounded(
        packed.dir.path(),
        &["map", file, "--input", "-", "--nats", &url],
        "[1]\n",
        Duration::from_secs(60),
    );
    let stderr = fails(&out, 13, "Permissions Violation for Publish to");
    assert!(stderr.contains("$JS.API"), "{stderr}");
    assert!(!stderr.contains("limited-pw"), "{stderr}");
    // Refused as soon as the server reports it, not at a request's timeout.
    assert!(started.elapsed() < Duration::from_secs(5), "the map took {:?}", started.elapsed());
    let started = Instant::now();
    let out = shipfn().args(["worker", "--nats", &url]).output().unwrap();
    fails(&out, 13, "Permissions Violation");
    assert!(started.elapsed() < Duration::from_secs(5), "the worker took {:?}", started.elapsed());
}

/// `GET path` from `addr`: the status code and the body.
#[test]
fn a_workers_metrics_count_what_the_map_reports_and_healthz_answers() {
    let server = NatsServer::start();
    let url = server.url();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let _worker = WorkerProcess::start(&url, &["--metrics", &addr, "--no-cache"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() || http_get(&addr, "/healthz").0 != 200 {
        assert!(Instant::now() < deadline, "the worker's /healthz did not answer 200");
        std::thread::sleep(Duration::from_millis(50));
    }
    let packed = pack_suite("mapper", &["3"]);
    let file = packed.file.to_str().unwrap();
    let (input, _) = crate::map::mapper_inputs(1000);
    let out = run_bounded(
        packed.dir.path(),
        &["map", file, "--input", "-", "--nats", &url],
        &input,
        Duration::from_secs(120),
    );
    // The map's summary: 4 of 1000 inputs failed (see mapper_inputs).
    fails(&out, 7, "4 of 1000 inputs failed; the first, input 14: trap: the guest panicked");
    let (status, text) = http_get(&addr, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(text.lines().last(), Some("# EOF"), "OpenMetrics text ends with # EOF");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        assert!(name.starts_with("shipfn_worker_"), "{line}");
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
    let sample = |name: &str| {
        text.lines().find(|l| l.starts_with(name)).and_then(|l| l.rsplit_once(' ')).map(|(_, v)| v.to_owned())
    };
    assert_eq!(sample("shipfn_worker_inputs_total{kind=\"ok\"}").as_deref(), Some("996"), "{text}");
    assert_eq!(sample("shipfn_worker_inputs_total{kind=\"bad_args\"}").as_deref(), Some("2"), "{text}");
    assert_eq!(sample("shipfn_worker_inputs_total{kind=\"trap\"}").as_deref(), Some("1"), "{text}");
    assert_eq!(sample("shipfn_worker_inputs_total{kind=\"guest_error\"}").as_deref(), Some("1"), "{text}");
    assert_eq!(sample("shipfn_worker_tasks_total{outcome=\"failed\"}").as_deref(), Some("4"), "{text}");
    assert_eq!(sample("shipfn_worker_tasks_total{outcome=\"ok\"}").as_deref(), Some("6"), "{text}");
    assert_eq!(sample("shipfn_worker_connected").as_deref(), Some("1"), "{text}");
    // Once, or once per slot when the first two tasks arrive together.
    let loaded = sample("shipfn_worker_packages_loaded_total");
    assert!(matches!(loaded.as_deref(), Some("1" | "2")), "{text}");
    let compiled = sample("shipfn_worker_modules_compiled_total");
    assert!(matches!(compiled.as_deref(), Some("1" | "2")), "{text}");
    // The map ships the package thin: its module is fetched beside it.
    let fetched = sample("shipfn_worker_modules_fetched_total");
    assert!(matches!(fetched.as_deref(), Some("1" | "2")), "{text}");
    // Without the server, the worker is not healthy.
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(&addr, "/healthz").0 != 503 {
        assert!(Instant::now() < deadline, "/healthz still says ok with the server gone");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The least-privilege configuration of `docs/deploy.md`, with an account
/// of another team beside it.
fn roles_config() -> String {
    let doc = std::fs::read_to_string(crate::harness::repo().join("docs/deploy.md")).unwrap();
    let section = doc.split("## Least-privilege roles").nth(1).expect("docs/deploy.md has the roles");
    let conf = section.split("```conf\n").nth(1).and_then(|c| c.split("\n```").next()).expect("a conf block");
    let conf = conf.replace("$SUBMITTER_PASSWORD", "\"sub-secret\"").replace("$WORKER_PASSWORD", "\"wrk-secret\"");
    // The documented block is one `accounts { … }`: add a second account in it.
    let other = "  OTHER {\n    jetstream: enabled\n    users = [ { user: other, password: \"oth-secret\" } ]\n  }\n}";
    let at = conf.rfind('}').unwrap();
    format!("{}{other}", &conf[..at])
}

#[test]
fn the_documented_roles_work_and_keep_each_user_to_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("roles.conf");
    std::fs::write(&config, roles_config()).unwrap();
    let server = NatsServer::start_with(&["-c", config.to_str().unwrap()]);
    let at = |user: &str, password: &str| format!("nats://{user}:{password}@127.0.0.1:{}", server.port());
    let (submitter, worker, other) =
        (at("submitter", "sub-secret"), at("worker", "wrk-secret"), at("other", "oth-secret"));
    let packed = pack_suite("mapper", &["3"]);
    let file = packed.file.to_str().unwrap();
    let input: String = (0..300).map(|i| format!("[{}]\n", i + 20)).collect();
    let as_submitter = ["map", file, "--input", "-", "--nats", &submitter, "--inbox-prefix", "_INBOX_submitter"];

    // The submitter sets up the namespace and waits; the worker then serves
    // it. A worker of another account runs beside them and sees nothing.
    let map = crate::map::Background::start(packed.dir.path(), &as_submitter, input.clone());
    std::thread::sleep(Duration::from_secs(1));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let other_metrics = format!("127.0.0.1:{port}");
    let _outsider = WorkerProcess::start(&other, &["--metrics", &other_metrics]);
    let _worker = WorkerProcess::start(&worker, &["--inbox-prefix", "_INBOX_worker"]);
    let out = map.finish(Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let expected: Vec<String> = (0..300).map(|i| format!("{{\"ok\":{}}}", (i + 20) * 3)).collect();
    crate::map::assert_outputs(&String::from_utf8_lossy(&out.stdout), &expected);
    let (_, text) = http_get(&other_metrics, "/metrics");
    assert!(!text.lines().any(|l| l.starts_with("shipfn_worker_tasks_total{")), "the outsider took tasks:\n{text}");

    // Each role refused the other's work, at once, naming what was denied.
    let started = Instant::now();
    let as_worker = ["map", file, "--input", "-", "--nats", &worker, "--inbox-prefix", "_INBOX_worker"];
    let out = run_bounded(packed.dir.path(), &as_worker, "[1]\n", Duration::from_secs(60));
    let stderr = fails(&out, 13, "Permissions Violation");
    assert!(out.stdout.is_empty() && started.elapsed() < Duration::from_secs(5), "{:?}: {stderr}", started.elapsed());
    let started = Instant::now();
    let out = shipfn().args(["worker", "--nats", &submitter, "--inbox-prefix", "_INBOX_submitter"]).output().unwrap();
    fails(&out, 13, "$JS.API.CONSUMER.MSG.NEXT.SHIPFN_TASKS.shipfn-workers");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    // A client without its own inbox prefix gets no replies at all.
    let out = run_bounded(
        packed.dir.path(),
        &["map", file, "--input", "-", "--nats", &submitter],
        "[1]\n",
        Duration::from_secs(60),
    );
    fails(&out, 13, "_INBOX");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("sub-secret"));
}

#[test]
fn a_worker_logs_json_lines_without_secrets_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.conf");
    std::fs::write(&config, "authorization { users = [ { user: logger, password: log-secret-pw } ] }\n").unwrap();
    let server = NatsServer::start_with(&["-c", config.to_str().unwrap()]);
    let url = format!("nats://logger:log-secret-pw@127.0.0.1:{}", server.port());
    let mut worker = shipfn()
        .args(["worker", "--nats", &url, "--log-format", "json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Every line is one JSON object: shipfn's messages, and the NATS
    // client's own (connections, reconnections).
    let mut stderr = std::io::BufReader::new(worker.stderr.take().unwrap());
    let mut first = String::new();
    loop {
        let mut text = String::new();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut text).unwrap() > 0, "no ready line: {first}");
        let line: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        first.push_str(&text);
        if line["target"] == "shipfn" {
            assert_eq!(line["level"], "INFO", "{line}");
            assert!(
                line["fields"]["message"].as_str().unwrap().contains("taking tasks from nats://127.0.0.1"),
                "{line}"
            );
            break;
        }
    }
    let pid = worker.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert_eq!(worker.wait().unwrap().code(), Some(0));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let messages: Vec<String> = rest
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .filter(|v| v["target"] == "shipfn")
        .map(|v| v["fields"]["message"].as_str().unwrap().to_owned())
        .collect();
    assert!(messages.iter().any(|m| m == "worker: stopped"), "{messages:?}");
    assert!(!first.contains("log-secret-pw") && !rest.contains("log-secret-pw"));
}
