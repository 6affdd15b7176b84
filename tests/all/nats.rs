//! A real NATS server with JetStream for the scale-out tests: started on a
//! free loopback port with a temporary store, stopped when dropped. The
//! server comes from `scripts/setup.sh`; without one the tests fail.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{repo, shipfn};

/// The `nats-server` binary: `$SHIPFN_NATS_SERVER`, the one that
/// `scripts/setup.sh` found, or `nats-server` on PATH.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SHIPFN_NATS_SERVER") {
        return path.into();
    }
    if let Ok(text) = std::fs::read_to_string(repo().join("target").join("nats-server-path")) {
        return PathBuf::from(text.trim());
    }
    PathBuf::from("nats-server")
}

pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
    extra: Vec<String>,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_with(&[])
    }

    /// A server started with `extra` options (`--user`, `--auth`, …).
    pub fn start_with(extra: &[&str]) -> NatsServer {
        NatsServer::start_on(free_port(), extra.iter().map(|s| s.to_string()).collect())
    }

    fn start_on(port: u16, extra: Vec<String>) -> NatsServer {
        let store = tempfile::tempdir().expect("tempdir");
        let mut server = NatsServer { child: None, port, store, extra };
        server.launch();
        server
    }

    /// The server's process id, for `nats-server --signal`.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    /// `nats-server --signal SIGNAL=PID` to this server (`ldm`: lame duck mode).
    pub fn signal(&self, signal: &str) {
        let status = Command::new(binary()).arg("--signal").arg(format!("{signal}={}", self.pid())).status();
        assert!(status.expect("nats-server runs").success(), "nats-server --signal {signal}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A server with two plain workers on it.
    pub fn with_two_workers() -> (NatsServer, [WorkerProcess; 2]) {
        let server = NatsServer::start();
        let url = server.url();
        let workers = [WorkerProcess::start(&url, &[]), WorkerProcess::start(&url, &[])];
        (server, workers)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) {
        let child = Command::new(binary())
            .args(["--jetstream", "--store_dir"])
            .arg(self.store.path())
            .args(["--addr", "127.0.0.1", "--port", &self.port.to_string()])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("the scale-out tests need nats-server (run scripts/setup.sh): {}: {e}", binary().display())
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen on port {} within 20 s", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (SIGTERM, as a service manager would) and starts it
    /// again on the same port with the same store.
    pub fn restart(&mut self, down_for: Duration) {
        self.stop();
        std::thread::sleep(down_for);
        self.launch();
    }

    /// kill -9: the server stops at once, without telling anyone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a stopped server again on the same port with the same store.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the server runs");
        self.launch();
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Three servers on loopback forming one JetStream cluster, each with its
/// monitoring port (for `/healthz` and `/connz`).
pub struct NatsCluster {
    pub servers: Vec<NatsServer>,
    monitors: Vec<u16>,
}

impl NatsCluster {
    pub fn start() -> NatsCluster {
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let monitors: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let servers = (0..3)
            .map(|i| {
                let others: Vec<String> =
                    (0..3).filter(|&j| j != i).map(|j| format!("nats://127.0.0.1:{}", routes[j])).collect();
                let extra = [
                    "--server_name".to_owned(),
                    format!("n{i}"),
                    "--cluster_name".to_owned(),
                    "shipfn-test".to_owned(),
                    "--cluster".to_owned(),
                    format!("nats://127.0.0.1:{}", routes[i]),
                    "--routes".to_owned(),
                    others.join(","),
                    "--http_port".to_owned(),
                    monitors[i].to_string(),
                ];
                NatsServer::start_on(ports[i], extra.to_vec())
            })
            .collect();
        let cluster = NatsCluster { servers, monitors };
        cluster.wait_healthy(Duration::from_secs(60));
        cluster
    }

    /// Every server's URL, comma-separated, as clients take them.
    pub fn urls(&self) -> String {
        self.servers.iter().map(NatsServer::url).collect::<Vec<_>>().join(",")
    }

    /// Waits until every running server says its JetStream is current.
    pub fn wait_healthy(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        for (server, monitor) in self.servers.iter().zip(&self.monitors) {
            if server.child.is_none() {
                continue;
            }
            let addr = format!("127.0.0.1:{monitor}");
            loop {
                let healthy = TcpStream::connect(&addr).is_ok() && http_get(&addr, "/healthz").0 == 200;
                if healthy {
                    break;
                }
                assert!(Instant::now() < deadline, "the cluster was not healthy within {limit:?}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }

    /// Which servers have a client connection named `name`.
    pub fn serving(&self, name: &str) -> Vec<usize> {
        (0..self.servers.len())
            .filter(|&i| {
                if self.servers[i].child.is_none() {
                    return false;
                }
                let (_, body) = http_get(&format!("127.0.0.1:{}", self.monitors[i]), "/connz");
                let connz: serde_json::Value = serde_json::from_str(&body).expect("/connz is JSON");
                connz["connections"].as_array().into_iter().flatten().any(|c| c["name"] == name)
            })
            .collect()
    }
}

/// A plain HTTP GET on loopback: the status and the body.
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).unwrap();
    let status = reply.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, reply.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default())
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").port()
}

/// A `shipfn worker` process, killed when dropped.
pub struct WorkerProcess(pub Child);

impl WorkerProcess {
    pub fn start(url: &str, extra: &[&str]) -> WorkerProcess {
        let child = shipfn()
            .args(["worker", "--nats", url, "--jobs", "2", "--ack-wait", "2s"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("shipfn worker starts");
        WorkerProcess(child)
    }

    /// kill -9.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
