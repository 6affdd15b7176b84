//! An HTTP service that embeds the shipfn host.
//!
//! - `PUT /packages` with a `.fnpkg` body: verified, compiled once, stored by
//!   the SHA-256 of its bytes, so a client sends each package once.
//!   `201` with `{"id", "signature"}` (`200` if it was already there).
//! - `GET /packages/{id}`: the package's signature, captures and globals.
//! - `POST /packages/{id}/call` with `{"args": [..]}` (one JSON value per
//!   parameter): `200` with `{"result": ..}`.
//!
//! Every call runs in a fresh sandboxed instance under the limits given on
//! the command line. Errors are `{"error", "kind"}` with the status in the
//! README's table. On start the service prints `listening on ADDR`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use clap::Parser;
use serde_json::{Value, json};
use shipfn_host::{Error, ErrorKind, Function, Host, Limits};

/// Serve shipfn packages over HTTP.
#[derive(Parser, Debug)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Time limit per call.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Memory limit per call, in MiB.
    #[arg(long, default_value_t = 256)]
    max_memory_mib: usize,
    /// Largest package accepted, in MiB.
    #[arg(long, default_value_t = 64)]
    max_package_mib: usize,
}

#[derive(Clone)]
struct App {
    host: Host,
    packages: Arc<RwLock<HashMap<String, Arc<Function>>>>,
}

/// An error as JSON with its HTTP status.
struct ApiError(StatusCode, String, &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1, "kind": self.2 }))).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let (status, kind) = match e.kind() {
            ErrorKind::BadPackage => (StatusCode::UNPROCESSABLE_ENTITY, "bad_package"),
            ErrorKind::Untrusted => (StatusCode::FORBIDDEN, "untrusted"),
            ErrorKind::BadArgs => (StatusCode::BAD_REQUEST, "bad_args"),
            ErrorKind::GuestError => (StatusCode::UNPROCESSABLE_ENTITY, "guest_error"),
            ErrorKind::Trap => (StatusCode::INTERNAL_SERVER_ERROR, "trap"),
            ErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            ErrorKind::ResourceLimit => (StatusCode::INSUFFICIENT_STORAGE, "resource_limit"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError(status, e.to_string(), kind)
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no package {id}; upload it with PUT /packages"), "not_found")
}

/// Runs blocking guest work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), "internal"))?
}

async fn upload(State(app): State<App>, body: Bytes) -> Result<Response, ApiError> {
    let id = hex::encode(shipfn_host::sha256(&body));
    if let Some(f) = app.packages.read().expect("lock").get(&id) {
        return Ok(
            (StatusCode::OK, Json(json!({ "id": id, "signature": f.manifest().signature_text() }))).into_response()
        );
    }
    let host = app.host.clone();
    let function = blocking(move || host.load(&body).map_err(ApiError::from)).await?;
    let signature = function.manifest().signature_text();
    app.packages.write().expect("lock").insert(id.clone(), Arc::new(function));
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "signature": signature }))).into_response())
}

fn find(app: &App, id: &str) -> Result<Arc<Function>, ApiError> {
    app.packages.read().expect("lock").get(id).cloned().ok_or_else(|| not_found(id))
}

async fn info(State(app): State<App>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let f = find(&app, &id)?;
    let sig = &f.manifest().signature;
    let fields =
        |fs: &[shipfn_host::Field]| fs.iter().map(|f| json!({ "name": f.name, "type": f.ty })).collect::<Vec<_>>();
    Ok(Json(json!({
        "id": id,
        "signature": f.manifest().signature_text(),
        "params": fields(&sig.params),
        "captures": fields(&sig.captures),
        "globals": fields(&sig.globals),
    })))
}

async fn call(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let f = find(&app, &id)?;
    let args = match body.get("args") {
        Some(Value::Array(args)) => args.iter().map(Value::to_string).collect::<Vec<_>>(),
        _ => return Err(ApiError(StatusCode::BAD_REQUEST, "the body must be {\"args\": [...]}".into(), "bad_args")),
    };
    let result = blocking(move || f.call_json(&args).map_err(ApiError::from)).await?;
    let result: Value = serde_json::from_str(&result)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), "internal"))?;
    Ok(Json(json!({ "result": result })))
}

fn router(app: App, max_package: usize) -> Router {
    Router::new()
        .route("/packages", put(upload))
        .route("/packages/{id}", get(info))
        .route("/packages/{id}/call", post(call))
        .layer(DefaultBodyLimit::max(max_package))
        .with_state(app)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let limits = Limits { timeout: args.timeout, max_memory: args.max_memory_mib << 20, ..Limits::default() };
    let app = App { host: Host::new(limits)?, packages: Arc::default() };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    // Small JSON replies must not wait for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(app, args.max_package_mib << 20))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
