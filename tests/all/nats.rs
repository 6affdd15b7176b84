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
        let store = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let extra = extra.iter().map(|s| s.to_string()).collect();
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
